"""A template can never reach Python objects, files or settings: escape attempts are refused when
the template is saved (with a message saying why), and again by the sandbox at render time."""

import pytest

from shared.contracts.values import TemplateVariant
from shared.templating import TemplateRejected, check_template, render_email
from shared.templating.sandbox import sandbox, to_jinja
from tests.mailer.samples import context

ESCAPES = {
    "{{ ''.__class__.__mro__ }}": "access to '__mro__' is not allowed",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}": "calling '__subclasses__' is not allowed",
    "{{ client_name.__class__ }}": "access to '__class__' is not allowed",
    "{{ client_name['__class__'] }}": "access to '__class__' is not allowed",
    "{{ ''|attr('__class__') }}": "the filter 'attr' is not allowed",
    "{{ client_name|attr('_' ~ '_class__') }}": "the filter 'attr' is not allowed",
    "{{ client_name|list|map(attribute='__class__')|first }}": "the filter 'map' is not allowed",
    "{{ cycler.__init__.__globals__.os }}": "access to '__globals__' is not allowed",
    "{{ lipsum.__globals__['os'].popen('id').read() }}": "calling 'read' is not allowed",
    "{{ self._TemplateReference__context }}": "unknown name 'self'",
    "{{ config.items() }}": "calling 'items' is not allowed",
    "{{ namespace() }}": "calling 'namespace' is not allowed",
    "{% include '/etc/passwd' %}": "including another template is not allowed",
    "{% extends 'base.html' %}": "extending another template is not allowed",
    "{% from 'x' import y %}": "importing another template is not allowed",
    "{{ 9 ** 9 ** 9 }}": "the ** operator is not allowed",
    "{{ client_name|safe }}": "the filter 'safe' is not allowed",
    "{{ request }}": "unknown name 'request'",
}


class TestTemplateSaveCheck:
    @pytest.mark.parametrize(("text", "reason"), sorted(ESCAPES.items()))
    def test_escape_attempt_is_refused_at_save_time_with_the_reason(self, text: str, reason: str) -> None:
        problems = check_template(f"Dear #contact_name, {text}", field="body")
        assert problems, f"{text!r} was accepted"
        assert any(reason in problem.message for problem in problems), problems
        assert all(problem.field == "body" for problem in problems)

    def test_unknown_hashtag_is_reported_not_sent_as_is(self) -> None:
        problems = check_template("Hello #client_nmae, you owe #items_amount_selected", field="subject")
        assert [problem.message for problem in problems] == ["unknown hashtag #client_nmae"]

    def test_a_plain_template_with_branches_and_filters_is_accepted(self) -> None:
        text = ("{% if items_count_selected > 1 %}Your #items_count_selected invoices{% else %}Your invoice"
                "{% endif %} — {{ client_name|upper }} — ##ref")
        assert check_template(text, field="body") == []

    def test_the_signed_link_is_refused_in_a_client_email(self) -> None:
        problems = check_template("Open #link_url", field="body", allow_internal=False)
        assert [problem.message for problem in problems] == ["#link_url is only for internal interactive emails"]


class TestRenderSandbox:
    def test_rendering_an_escape_attempt_raises_template_rejected(self) -> None:
        variants = {"en": TemplateVariant(subject="Hi", body="{{ ''.__class__.__mro__ }}")}
        with pytest.raises(TemplateRejected, match="access to '__mro__' is not allowed"):
            render_email(variants=variants, language="en", default_language="en", context=context(language="en"))

    def test_the_sandbox_itself_refuses_private_attributes_even_unchecked(self) -> None:
        from jinja2.exceptions import SecurityError

        template = sandbox(autoescape=False).from_string("{{ x.__class__.__mro__ }}")
        with pytest.raises(SecurityError):
            template.render(x="")

    def test_the_sandbox_has_no_globals_and_no_attr_filter(self) -> None:
        environment = sandbox(autoescape=True)
        assert environment.globals == {}
        assert "attr" not in environment.filters and "map" not in environment.filters

    def test_a_huge_string_product_is_stopped_at_render_time(self) -> None:
        variants = {"en": TemplateVariant(subject="Hi", body="{{ client_name * 100000000 }}")}
        with pytest.raises(TemplateRejected, match="too large"):
            render_email(variants=variants, language="en", default_language="en", context=context(language="en"))

    def test_template_syntax_in_data_is_shown_not_evaluated(self) -> None:
        tricky = context(language="en").model_copy(update={"link_url": "{{ 7 * 7 }}"})
        variants = {"en": TemplateVariant(subject="#link_url", body="#link_url")}
        rendered = render_email(variants=variants, language="en", default_language="en", context=tricky)
        assert rendered.subject == "{{ 7 * 7 }}"
        assert "{{ 7 * 7 }}" in rendered.text

    def test_hashtags_become_variables_and_double_hash_is_a_literal_hash(self) -> None:
        assert to_jinja("#client_name owes ##42 (#items_amount_selected)") == (
            "{{ client_name }} owes #42 ({{ items_amount_selected }})"
        )
