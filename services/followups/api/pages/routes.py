"""Routes of the interactive pages (`/l/<link token>`) and of the signed attachment URLs (`/d/<token>`).

GET and HEAD only read: mail scanners open links before people do. Every change is a POST carrying a form
token bound to the link; a status change takes a second POST to confirm. The tenant comes from the verified
token alone. Any refusal is a page with a 4xx and no data of the case.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from starlette.datastructures import FormData, UploadFile

from shared.links import LinkOperation, LinkRejected
from services.followups.api.deps import Service
from services.followups.domain.errors import FollowupsError, Invalid, TooLarge, Unavailable, UnsupportedType
from services.followups.domain.links import form_token, verify_download
from services.followups.handlers import colleague
from services.followups.handlers.colleague import LinkRefused, OpenedLink
from services.followups.handlers.context import Deps, link_keys_of
from services.followups.api.pages.i18n import language_of
from services.followups.api.pages.render import page, refused, secured, see_other
from services.followups.api.pages.view import case_view, size_text

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
FORM_BODY_MAX = 64 * 1024
MULTIPART_OVERHEAD = 64 * 1024
COMMENT_MAX = 5000
Body = Callable[[OpenedLink, str], Awaitable[Response]]


@router.api_route("/l/{token}", methods=["GET", "HEAD"])
async def case_page(token: str, request: Request, deps: Service, done: str | None = None) -> Response:
    async def show(opened: OpenedLink, language: str) -> Response:
        return await _case(opened, token, language, done=done if done in ("comment", "upload", "status") else None,
                           deps=deps)
    return await _guarded(token, request, deps, show)


@router.post("/l/{token}/comment")
async def post_comment(token: str, request: Request, deps: Service) -> Response:
    async def act(opened: OpenedLink, language: str) -> Response:
        form = await _form(request, deps)
        await colleague.accept_post(opened, _text(form, "form_token"), LinkOperation.COMMENT, deps=deps)
        text = _comment(form, "text", required=True)
        assert text is not None
        await colleague.comment(opened, text, caller=_caller(opened, request), deps=deps)
        return see_other(f"/l/{token}?done=comment#activity")
    return await _guarded(token, request, deps, act)


@router.post("/l/{token}/upload")
async def post_upload(token: str, request: Request, deps: Service) -> Response:
    async def act(opened: OpenedLink, language: str) -> Response:
        limit = deps.settings.attachment_max_bytes
        if int(request.headers.get("content-length") or 0) > limit + MULTIPART_OVERHEAD:
            raise TooLarge("the document", limit)  # refused before reading the body
        form = await _form(request, deps, files=1)
        await colleague.accept_post(opened, _text(form, "form_token"), LinkOperation.UPLOAD, deps=deps)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Invalid("choose a document to attach", code="file_required")
        await colleague.upload(opened, filename=upload.filename, content_type=upload.content_type or "",
                               read=upload.read, caller=_caller(opened, request), deps=deps)
        return see_other(f"/l/{token}?done=upload#documents")
    return await _guarded(token, request, deps, act)


@router.post("/l/{token}/status")
async def post_status(token: str, request: Request, deps: Service) -> Response:
    """First POST: shows what would change and asks to confirm. Second POST (confirm=yes): changes it."""
    async def act(opened: OpenedLink, language: str) -> Response:
        form = await _form(request, deps)
        await colleague.accept_post(opened, _text(form, "form_token"), LinkOperation.SET_STATUS, deps=deps)
        status, item_ids = _text(form, "status") or "", [str(v) for v in form.getlist("item_id")]
        comment = _comment(form, "comment", required=False)
        if _text(form, "confirm") != "yes":
            return await _confirm(opened, token, language, status=status, item_ids=item_ids, comment=comment,
                                  deps=deps)
        await colleague.set_status(opened, status, item_ids, comment, caller=_caller(opened, request), deps=deps)
        return see_other(f"/l/{token}?done=status#activity")
    return await _guarded(token, request, deps, act)


@router.get("/l/{token}/attachments/{attachment_id}")
async def link_download(token: str, attachment_id: str, request: Request, deps: Service) -> Response:
    async def send(opened: OpenedLink, language: str) -> Response:
        record = await deps.read.attachments.get(opened.tenant_id, attachment_id)
        if record is None or opened.action is None or record["action_id"] != opened.action.action_id:
            return refused("unknown", language=language)
        return _file(record, deps)
    return await _guarded(token, request, deps, send)


@router.api_route("/d/{token}", methods=["GET", "HEAD"])
async def signed_download(token: str, deps: Service) -> Response:
    """An attachment by its signed, expiring URL: what the mailer fetches to attach a document to an email."""
    try:
        grant = verify_download(token, link_keys_of(deps), now=deps.clock.now())
    except LinkRejected as exc:
        status = 410 if exc.reason.value == "expired" else 403
        return secured(PlainTextResponse(f"refused: {exc.reason.value}", status_code=status))
    except Unavailable as exc:
        return secured(PlainTextResponse(exc.message, status_code=503))
    record = await deps.read.attachments.get(grant.tenant_id, grant.attachment_id)
    if record is None:
        return secured(PlainTextResponse("unknown attachment", status_code=404))
    return _file(record, deps)


async def _guarded(token: str, request: Request, deps: Deps, body: Body) -> Response:
    """Open the link, run the page's work, and turn every refusal into its page."""
    language = language_of(None, request.headers.get("accept-language"))
    back, company = None, ""
    try:
        opened = await colleague.open_link(token, deps=deps)
        language, back = language_of(opened.record.language), f"/l/{token}"
        return await body(opened, language)
    except LinkRefused as exc:
        if exc.reason in ("malformed", "forged", "unknown_key", "unknown"):
            log.warning("interactive link refused: %s", exc.reason)
        return refused(exc.reason, language=language, back=back, company=company)
    except FollowupsError as exc:
        reason = _reason(exc)
        return refused(reason, language=language, back=back, company=company, detail=exc.message,
                       size=size_text(deps.settings.attachment_max_bytes))


def _reason(exc: FollowupsError) -> str:
    if isinstance(exc, Unavailable):
        return "unavailable"
    if isinstance(exc, TooLarge):
        return "too_large"
    if isinstance(exc, UnsupportedType):
        return "unsupported_type"
    if getattr(exc, "code", "") == "action_not_open":
        return "read_only"
    return "invalid"


async def _case(opened: OpenedLink, token: str, language: str, *, done: str | None, deps: Deps) -> Response:
    view = await case_view(opened, language=language, deps=deps)
    forms = {name: _form_token(opened, deps) for name in ("comment", "upload", "status")}
    return page("case.html.j2", language=language, view=view, base=f"/l/{token}", forms=forms, done=done,
                company=view.company)


async def _confirm(opened: OpenedLink, token: str, language: str, *, status: str, item_ids: list[str],
                   comment: str | None, deps: Deps) -> Response:
    chosen = colleague.check_status_choice(opened, status, item_ids)
    view = await case_view(opened, language=language, deps=deps)
    rows = {row["item_id"]: row for row in view.items}
    label = next((s["label"] for s in view.statuses if s["code"] == status), status)
    return page("confirm.html.j2", language=language, view=view, base=f"/l/{token}", status=status,
                status_label=label, items=[rows[item.item_id] for item in chosen], comment=comment,
                form_token=_form_token(opened, deps), company=view.company)


def _form_token(opened: OpenedLink, deps: Deps) -> str:
    return form_token(link_keys_of(deps), tenant_id=opened.tenant_id, link_id=opened.record.link_id,
                      now=deps.clock.now())


async def _form(request: Request, deps: Deps, *, files: int = 0) -> FormData:
    if not files and int(request.headers.get("content-length") or 0) > FORM_BODY_MAX:
        raise TooLarge("the form", FORM_BODY_MAX)
    try:
        return await request.form(max_files=files, max_fields=100)
    except Exception:  # a malformed body is the sender's problem: a 4xx page, never a 500
        raise LinkRefused("form") from None


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _comment(form: FormData, name: str, *, required: bool) -> str | None:
    text = (_text(form, name) or "").strip()
    if len(text) > COMMENT_MAX:
        raise Invalid(f"a comment is at most {COMMENT_MAX} characters", code="comment_too_long")
    if required and not text:
        raise Invalid("write a comment first", code="comment_required")
    return text or None


def _caller(opened: OpenedLink, request: Request) -> Any:
    return opened.colleague(getattr(request.state, "correlation_id", None))


def _file(record: dict[str, Any], deps: Deps) -> Response:
    content: AsyncIterator[bytes] = deps.adapters.files.content(record["file_id"])
    return secured(StreamingResponse(content, media_type=record["content_type"], headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(record['filename'])}",
        "Content-Length": str(record["size"])}))
