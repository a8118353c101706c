"""Checking and compiling user-authored templates in Jinja2's sandbox.

A template is text with hashtags (`#client_name`) and, optionally, Jinja2 syntax
(`{% if items_count_selected > 1 %}`). Hashtags become variables; only catalogue names may be used;
attribute access to anything private (`''.__class__`) is refused when the template is saved, and
the sandbox refuses it again at render time.
"""

import re
from dataclasses import dataclass

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from shared.templating.hashtags import hashtag_names

HASHTAG = re.compile(r"(?<![\w#&])#([a-z][a-z0-9_]*)")
ESCAPED_HASH = "##"


@dataclass(frozen=True)
class TemplateProblem:
    field: str
    message: str


class TemplateRejected(ValueError):
    """A template cannot be saved; the message lists every problem found."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


def sandbox(*, autoescape: bool) -> ImmutableSandboxedEnvironment:
    """The environment every user template runs in: no Python objects, undefined names fail."""
    return ImmutableSandboxedEnvironment(autoescape=autoescape, undefined=StrictUndefined)


def to_jinja(text: str) -> str:
    """`#client_name` → `{{ client_name }}`; `##` is a literal `#`."""
    placeholder = "\x00"
    text = text.replace(ESCAPED_HASH, placeholder)
    text = HASHTAG.sub(lambda match: "{{ " + match.group(1) + " }}", text)
    return text.replace(placeholder, "#")


def check_template(text: str, *, field: str, allow_internal: bool = True) -> list[TemplateProblem]:
    """Every reason this text cannot be a template (an empty list: it can)."""
    known = hashtag_names()
    problems = [
        TemplateProblem(field, f"unknown hashtag #{name}")
        for name in sorted({match.group(1) for match in HASHTAG.finditer(text.replace(ESCAPED_HASH, ""))})
        if name not in known
    ]
    if problems:
        return problems
    try:
        tree = sandbox(autoescape=True).parse(to_jinja(text))
    except TemplateSyntaxError as exc:
        return [TemplateProblem(field, f"template syntax error on line {exc.lineno}: {exc.message}")]
    problems.extend(_private_access(tree, field))
    for name in sorted(meta.find_undeclared_variables(tree) - known):
        problems.append(TemplateProblem(field, f"unknown name {name!r}: use one of the documented hashtags"))
    if not allow_internal and "link_url" in meta.find_undeclared_variables(tree):
        problems.append(TemplateProblem(field, "#link_url is only for internal interactive emails"))
    return problems


def _private_access(tree: nodes.Template, field: str) -> list[TemplateProblem]:
    problems = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        attribute = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(attribute, str) and attribute.startswith("_"):
            problems.append(TemplateProblem(field, f"access to {attribute!r} is not allowed in a template"))
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Getattr):
            problems.append(TemplateProblem(field, f"calling {call.node.attr!r} is not allowed in a template"))
    return problems


def compile_template(text: str, *, field: str, autoescape: bool):  # noqa: ANN201 - jinja2.Template
    """Check then compile; raises TemplateRejected with every problem."""
    problems = check_template(text, field=field)
    if problems:
        raise TemplateRejected(problems)
    return sandbox(autoescape=autoescape).from_string(to_jinja(text))
