"""Template hashtags, the sandbox user-authored templates run in, and rendering them.

Followups checks a template when an admin saves it; the mailer renders it (and previews it for
admins). Both use this package, so "what a template may say" and "what a hashtag shows" are
defined once.
"""

from shared.templating.hashtags import HASHTAGS, Hashtag, hashtag_names
from shared.templating.render import RenderedEmail, choose_variant, render_email
from shared.templating.sandbox import (
    TemplateProblem,
    TemplateRejected,
    check_template,
    compile_template,
    compile_text_as_html,
)
from shared.templating.values import hashtag_values

__all__ = [
    "HASHTAGS",
    "Hashtag",
    "RenderedEmail",
    "TemplateProblem",
    "TemplateRejected",
    "check_template",
    "choose_variant",
    "compile_template",
    "compile_text_as_html",
    "hashtag_names",
    "hashtag_values",
    "render_email",
]
