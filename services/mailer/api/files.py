"""The claim checks of reply files: `GET /inbound/files/{claim check}` serves one stored file of one
tenant while its signed URL is valid. No bearer token: the signature is the authorisation (the
follow-ups service fetches the file by reference, as the mailer fetches email attachments)."""

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import Response, StreamingResponse

from services.mailer.domain.claims import verify_claim
from services.mailer.ports import ReplyFiles
from shared.links import LinkKeys, LinkRejected, RejectionReason
from shared.platform.clock import Clock

router = APIRouter(tags=["inbound"])


@dataclass(frozen=True)
class FileDeps:
    """The stored files, the keys that sign their claim checks (None: none are served), the clock."""

    files: ReplyFiles
    keys: LinkKeys | None
    clock: Clock


FILE_PATH = "/inbound/files/{claim_check}"
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not a valid claim check"}, 404: {"description": "No such file"},
    410: {"description": "The claim check has expired"}}


# GET and HEAD are two operations (each its own operationId, as OpenAPI requires) on one handler
@router.head(FILE_PATH, summary="The headers of a reply's file (type, size, name), without its content",
             responses=FILE_RESPONSES)
async def reply_file_headers(claim_check: Annotated[str, Path(max_length=2000)], request: Request) -> Response:
    return await reply_file(claim_check, request)


@router.get(FILE_PATH, summary="A file of a reply, by its claim check", responses=FILE_RESPONSES)
async def reply_file(claim_check: Annotated[str, Path(max_length=2000)], request: Request) -> Response:
    deps: FileDeps = request.app.state.inbound_files
    if deps.keys is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such file")
    try:
        claim = verify_claim(claim_check, deps.keys, now=deps.clock.now())
    except LinkRejected as exc:
        if exc.reason is RejectionReason.EXPIRED:
            raise HTTPException(status.HTTP_410_GONE, detail="this file link has expired") from None
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="not a valid file link") from None
    stored = await deps.files.describe(claim.tenant_id, claim.file_id)
    if stored is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such file")
    headers = {
        "Content-Disposition": _disposition(stored.filename),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Referrer-Policy": "no-referrer",
        "Content-Length": str(stored.length),
    }
    if request.method == "HEAD":
        return Response(status_code=200, media_type=stored.content_type, headers=headers)
    return StreamingResponse(deps.files.content(claim.file_id), media_type=stored.content_type, headers=headers)


def _disposition(filename: str) -> str:
    fallback = "".join(char if char.isascii() and char.isprintable() and char not in '"\\' else "_"
                       for char in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
