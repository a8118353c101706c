"""Rendering a template for one email: pick the language variant, then render subject, text and HTML.

A variant's body is plain text with hashtags. The plain-text part is that text rendered; the HTML
part is the same text with its literal text and values escaped, blank-line paragraphs and line
breaks kept, inside the built-in layout (`layouts/email.html.j2`). Compiled templates are cached by
their source, so a burst of emails from one template compiles it once.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, Template, TemplateError, select_autoescape
from markupsafe import Markup

from shared.contracts.email import RenderContext
from shared.contracts.values import Recipient, TemplateVariant
from shared.templating.sandbox import TemplateProblem, TemplateRejected, compile_template, compile_text_as_html
from shared.templating.values import values_for_both_parts

MAX_RENDERED_CHARS = 2_000_000
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_layouts = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "layouts"), autoescape=select_autoescape(default=True)
)


@dataclass(frozen=True)
class RenderedEmail:
    language: str
    subject: str
    text: str
    html: str


def base_language(language: str) -> str:
    return language.split("-")[0].lower()


def choose_variant(
    variants: Mapping[str, TemplateVariant], *, language: str, default_language: str
) -> tuple[str, TemplateVariant]:
    """The variant for the client's language: exact (`fr-BE`), then its base (`fr`), then the
    tenant default (exact, then base), then any variant of the same base, then the first by name."""
    if not variants:
        raise TemplateRejected([TemplateProblem("variants", "a template needs at least one language variant")])
    for candidate in (language, base_language(language), default_language, base_language(default_language)):
        if candidate in variants:
            return candidate, variants[candidate]
    for wanted in (base_language(language), base_language(default_language)):
        for name in sorted(variants):
            if base_language(name) == wanted:
                return name, variants[name]
    first = sorted(variants)[0]
    return first, variants[first]


def render_email(
    *,
    variants: Mapping[str, TemplateVariant],
    language: str,
    default_language: str,
    context: RenderContext,
    contact: Recipient | None = None,
    allow_internal: bool = True,
) -> RenderedEmail:
    """Render one email; raises TemplateRejected (with every problem) when it cannot be rendered."""
    chosen, variant = choose_variant(variants, language=language, default_language=default_language)
    # Format in the client's own regional variant (fr-BE) when the text is in its language.
    locale = language if base_language(language) == base_language(chosen) else chosen
    try:
        subject_template = _compiled(variant.subject, f"variants.{chosen}.subject", "text", allow_internal)
        text_template = _compiled(variant.body, f"variants.{chosen}.body", "text", allow_internal)
        html_template = _compiled(variant.body, f"variants.{chosen}.body", "html", allow_internal)
        text_values, html_values = values_for_both_parts(context, language=locale, contact=contact)
        subject = " ".join(subject_template.render(text_values).split())
        text = text_template.render(text_values)
        body_html = html_template.render(html_values)
    except TemplateRejected:
        raise
    except (TemplateError, ArithmeticError, TypeError, ValueError) as exc:
        raise TemplateRejected([TemplateProblem(f"variants.{chosen}", f"cannot be rendered: {exc}")]) from None
    if len(text) + len(body_html) > MAX_RENDERED_CHARS:
        raise TemplateRejected([TemplateProblem(f"variants.{chosen}", "the rendered email is too large")])
    html = _layouts.get_template("email.html.j2").render(
        language=locale, subject=subject, paragraphs=_paragraphs(body_html), company_name=context.company.name
    )
    return RenderedEmail(language=chosen, subject=subject, text=text.strip() + "\n", html=html)


def _paragraphs(body_html: str) -> list[Markup]:
    """Blank lines separate paragraphs; a single newline is a line break. The input is already safe."""
    blocks = [block.strip("\n") for block in PARAGRAPH_BREAK.split(body_html.replace("\r\n", "\n"))]
    return [Markup("<br>\n".join(block.split("\n"))) for block in blocks if block.strip()]


@lru_cache(maxsize=512)
def _compiled(text: str, field: str, kind: str, allow_internal: bool) -> Template:
    if kind == "html":
        return compile_text_as_html(text, field=field, allow_internal=allow_internal)
    return compile_template(text, field=field, autoescape=False, allow_internal=allow_internal)
