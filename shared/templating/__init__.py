"""Template hashtags and the sandbox user-authored templates run in.

Followups checks a template when an admin saves it; the mailer renders it. Both use this module,
so "what a template may say" is defined once.
"""

from shared.templating.hashtags import HASHTAGS, Hashtag, hashtag_names
from shared.templating.sandbox import TemplateProblem, TemplateRejected, check_template, compile_template

__all__ = [
    "HASHTAGS",
    "Hashtag",
    "TemplateProblem",
    "TemplateRejected",
    "check_template",
    "compile_template",
    "hashtag_names",
]
