"""Documents of an action: upload (size and type checked as it streams in), list, download."""

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, UploadFile, status
from fastapi.responses import StreamingResponse

from services.followups.api.deps import Collector, Reader, Service
from services.followups.domain.errors import TooLarge
from services.followups.handlers.context import action_for
from services.followups.handlers.documents import attach_document, open_document

router = APIRouter(tags=["documents"])
MULTIPART_OVERHEAD = 64 * 1024


@router.post("/actions/{action_id}/attachments", status_code=status.HTTP_201_CREATED,
             summary="Attach a document (multipart field `file`); 413 over the size limit, 415 for other types")
async def upload(action_id: str, file: UploadFile, request: Request, caller: Collector, deps: Service
                 ) -> dict[str, Any]:
    declared = int(request.headers.get("content-length") or 0)
    if declared > deps.settings.attachment_max_bytes + MULTIPART_OVERHEAD:
        raise TooLarge("the attachment", deps.settings.attachment_max_bytes)
    return await attach_document(action_id, filename=file.filename, content_type=file.content_type or "",
                                 read=file.read, caller=caller, deps=deps)


@router.get("/actions/{action_id}/attachments", summary="The action's documents")
async def list_attachments(action_id: str, caller: Reader, deps: Service) -> list[dict[str, Any]]:
    await action_for(caller.tenant_id, action_id, tx=deps.read)
    return await deps.read.attachments.of_action(caller.tenant_id, action_id)


@router.get("/attachments/{attachment_id}", summary="Download a document", response_class=StreamingResponse)
async def download(attachment_id: str, caller: Reader, deps: Service) -> StreamingResponse:
    record, content = await open_document(attachment_id, caller=caller, deps=deps)
    disposition = f"attachment; filename*=UTF-8''{quote(record['filename'])}"
    return StreamingResponse(content, media_type=record["content_type"], headers={
        "Content-Disposition": disposition, "Content-Length": str(record["size"]),
        "X-Content-Type-Options": "nosniff"})
