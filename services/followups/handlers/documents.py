"""Documents attached to an action: checked (type, size) as they stream into GridFS, then recorded with a
history entry in one transaction; downloadable only through their tenant-scoped record."""

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from shared.ports import Flow
from services.followups.ports import Tx
from services.followups.domain import actions as act
from services.followups.domain.history import EntryKind
from services.followups.domain.errors import NotFound
from services.followups.handlers.changes import Changes
from services.followups.handlers.context import Caller, Deps, action_for, new_id

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def safe_filename(filename: str | None) -> str:
    """The last path segment, without control characters, at most 200 characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = _UNSAFE.sub("", name).strip().lstrip(".")
    return name[-200:] or "attachment"


async def attach_document(action_id: str, *, filename: str | None, content_type: str,
                          read: Callable[[int], Awaitable[bytes]], caller: Caller, deps: Deps) -> dict[str, Any]:
    tenant, files = caller.tenant_id, deps.adapters.files
    (await action_for(tenant, action_id, tx=deps.read)).require_open()  # before reading any byte
    now = deps.clock.now()
    name = safe_filename(filename)
    stored = await files.store(
        tenant_id=tenant, filename=name, declared_type=content_type, read=read,
        max_bytes=deps.settings.attachment_max_bytes, allowed=frozenset(deps.settings.attachment_types), now=now)
    record = {"attachment_id": new_id(), "action_id": action_id, "filename": name,
              "content_type": stored.content_type, "size": stored.size, "uploaded_at": now,
              "uploaded_by": caller.actor.model_dump(), "file_id": stored.file_id}

    async def work(tx: Tx) -> None:
        action = await action_for(tenant, action_id, tx=tx)
        action.require_open()
        await tx.attachments.record(tenant, {**record, "client_id": action.client_id})
        changes = Changes(tenant_id=tenant, actor=caller.actor, now=now)
        changes.note(act.note(action, EntryKind.ATTACHMENT_ADDED, actor=caller.actor, now=now, data={
            key: record[key] for key in ("attachment_id", "filename", "content_type", "size")}))
        await changes.save(tx)

    try:
        await deps.uow.run(work, flow=Flow(tenant, caller.correlation_id))
    except BaseException:
        await files.discard(stored.file_id)  # nothing half-written: no record, no bytes
        raise
    return {key: value for key, value in record.items() if key != "file_id"}


async def open_document(attachment_id: str, *, caller: Caller, deps: Deps
                        ) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
    record = await deps.read.attachments.get(caller.tenant_id, attachment_id)
    if record is None:
        raise NotFound("attachment", attachment_id)
    return record, deps.adapters.files.content(record["file_id"])
