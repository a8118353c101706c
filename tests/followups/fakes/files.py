"""Stored bytes, and reply attachments behind claim-check URLs, in dictionaries (outside the unit of work)."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import count
from typing import Any

from shared.contracts.email import AttachmentRef
from services.followups.adapters.attachments import READ_CHUNK, check_content
from services.followups.domain.errors import TooLarge, Unreachable, UnsupportedType
from services.followups.ports import StoredFile
from tests.followups.fakes.state import State


@dataclass
class StoredBytes:
    tenant_id: str
    content: bytes
    stored_at: datetime


class FakeFiles:
    """Bytes in a dictionary; like GridFS they stay outside the unit of work (not rolled back)."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.stored: dict[int, StoredBytes] = {}
        self._ids = count(1)

    async def store(self, *, tenant_id: str, filename: str, declared_type: str,
                    read: Callable[[int], Awaitable[bytes]], max_bytes: int, allowed: frozenset[str],
                    now: datetime) -> StoredFile:
        first = await read(READ_CHUNK)
        content_type = check_content(declared_type, first, allowed=allowed)
        content, chunk = bytearray(), first
        while chunk:
            content.extend(chunk)
            if len(content) > max_bytes:
                raise TooLarge("the attachment", max_bytes)
            chunk = await read(READ_CHUNK)
        file_id = next(self._ids)
        self.stored[file_id] = StoredBytes(tenant_id, bytes(content), now)
        return StoredFile(file_id, content_type, len(content))

    async def discard(self, file_id: Any) -> None:
        self.stored.pop(file_id, None)

    async def content(self, file_id: Any) -> AsyncIterator[bytes]:
        yield self.stored[file_id].content

    async def sweep_orphans(self, *, older_than: datetime) -> int:
        recorded = {(tenant, r["file_id"]) for (tenant, _), r in self.state.attachments.items()}
        orphans = [file_id for file_id, stored in self.stored.items()
                   if stored.stored_at < older_than and (stored.tenant_id, file_id) not in recorded]
        for file_id in orphans:
            del self.stored[file_id]
        return len(orphans)


class FakeFetcher:
    """Claim-check URLs answered from a dictionary; any other URL is unreachable."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    async def fetch(self, ref: AttachmentRef, *, limit: int, timeout_s: float) -> bytes:
        if not ref.url.startswith(("http://", "https://")):
            raise UnsupportedType("the attachment's reference is not an http(s) URL", ())
        if ref.size > limit:
            raise TooLarge("the attachment", limit)
        if ref.url not in self.files:
            raise Unreachable(f"cannot be fetched: {ref.url} answers 404")
        content = self.files[ref.url]
        if len(content) > limit:
            raise TooLarge("the attachment", limit)
        return content
