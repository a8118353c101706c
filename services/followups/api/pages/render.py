"""Rendering the pages: one autoescaping Jinja2 environment, the security headers every page carries, and the
page a refused link shows (a clear reason and a 4xx, never any data)."""

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.followups.api.pages.i18n import translator

STATIC = Path(__file__).parent / "static"
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                   undefined=StrictUndefined)

SECURITY_HEADERS = {
    # The link is the credential: never leak it to another site, never cache or frame the page.
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Robots-Tag": "noindex, nofollow",
    "Cross-Origin-Opener-Policy": "same-origin",
}

REFUSALS: dict[str, int] = {
    "malformed": 400, "forged": 403, "unknown_key": 403, "expired": 410, "unknown": 404, "revoked": 410,
    "read_only": 409, "not_granted": 403, "form": 403, "replayed": 409, "rate_limited": 429, "unavailable": 503,
    "invalid": 422, "too_large": 413, "unsupported_type": 415,
}
LINK_LEVEL = frozenset({"malformed", "forged", "unknown_key", "expired", "unknown", "revoked", "unavailable"})


def secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def page(template: str, *, language: str, status_code: int = 200, **context: Any) -> Response:
    html = _env.get_template(template).render(lang=language, t=translator(language), **context)
    return secured(HTMLResponse(html, status_code=status_code))


def refused(reason: str, *, language: str, back: str | None = None, company: str = "", **values: Any) -> Response:
    """The page of a refused link or change; a link-level refusal offers no way back into the case."""
    message = translator(language)(f"refused.{reason}", **values)
    response = page("refused.html.j2", language=language, status_code=REFUSALS.get(reason, 400), message=message,
                    back=None if reason in LINK_LEVEL else back, company=company)
    if reason == "rate_limited":
        response.headers["Retry-After"] = "60"
    return response


def see_other(url: str) -> Response:
    """Post/redirect/get: a reload of the result never sends the form again."""
    return secured(RedirectResponse(url, status_code=303))
