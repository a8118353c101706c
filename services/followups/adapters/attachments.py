"""Attachments of actions: bytes in GridFS, a record per attachment, content checked while it streams in.

GridFS cannot take part in a transaction, so the bytes are stored first and the record (with the history
entry) is written in the transaction afterwards; if that fails the bytes are deleted, and files no record
points to are swept later. Nothing is reachable without its record, which is tenant-scoped.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from bson import ObjectId
from gridfs import AsyncGridFSBucket
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.platform.mongo import doc_id
from services.followups.domain.errors import TooLarge, UnsupportedType
from services.followups.ports import StoredFile
from shared.document_types import SIGNATURES, TEXT_TYPES

BUCKET = "attachments"
READ_CHUNK = 256 * 1024
Session = AsyncClientSession | None


def check_content(declared: str, head: bytes, *, allowed: frozenset[str]) -> str:
    """The content type, if allowed and if the first bytes look like it; else UnsupportedType."""
    content_type = declared.split(";")[0].strip().lower()
    if content_type in ("", "application/octet-stream"):
        content_type = next((t for t, marks in SIGNATURES.items() if t in allowed and head.startswith(marks)), "")
        if not content_type:
            raise UnsupportedType("the file's type could not be recognised", allowed)
    if content_type not in allowed:
        raise UnsupportedType(f"{content_type} files are not accepted", allowed)
    if content_type in TEXT_TYPES:
        if b"\x00" in head:
            raise UnsupportedType(f"the file is declared {content_type} but holds binary data", allowed)
    elif not head.startswith(SIGNATURES.get(content_type, (b"",))):
        raise UnsupportedType(f"the file's content does not match its declared type {content_type}", allowed)
    return content_type


class AttachmentsRepository:
    """The records of stored documents, tenant-scoped: nothing is reachable without one."""

    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.session = session
        self.records = db["attachments"]

    async def ensure_indexes(self) -> None:
        await self.records.create_index([("tenant_id", ASCENDING), ("action_id", ASCENDING)])

    async def record(self, tenant_id: str, record: dict[str, Any]) -> None:
        await self.records.insert_one({"_id": doc_id(tenant_id, record["attachment_id"]), "tenant_id": tenant_id,
                                       **record}, session=self.session)

    async def get(self, tenant_id: str, attachment_id: str) -> dict[str, Any] | None:
        return await self.records.find_one({"_id": doc_id(tenant_id, attachment_id)}, session=self.session)

    async def of_action(self, tenant_id: str, action_id: str) -> list[dict[str, Any]]:
        cursor = self.records.find({"tenant_id": tenant_id, "action_id": action_id},
                                   {"_id": 0, "tenant_id": 0, "file_id": 0}, session=self.session)
        return await cursor.sort("uploaded_at", ASCENDING).to_list()


class GridFsFiles:
    """The bytes, in GridFS (which cannot take part in a transaction)."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.bucket = AsyncGridFSBucket(db, bucket_name=BUCKET)
        self.files = db[f"{BUCKET}.files"]
        self.records = db["attachments"]

    async def store(self, *, tenant_id: str, filename: str, declared_type: str,
                    read: Callable[[int], Awaitable[bytes]], max_bytes: int, allowed: frozenset[str],
                    now: datetime) -> StoredFile:
        """Stream the upload into GridFS, checking type on the first bytes and size as it goes."""
        first = await read(READ_CHUNK)
        content_type = check_content(declared_type, first, allowed=allowed)
        file_id = ObjectId()
        grid_in = self.bucket.open_upload_stream_with_id(
            file_id, filename, metadata={"tenant_id": tenant_id, "content_type": content_type, "stored_at": now})
        size = 0
        chunk = first
        try:
            while chunk:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge("the attachment", max_bytes)
                await grid_in.write(chunk)
                chunk = await read(READ_CHUNK)
            await grid_in.close()
        except BaseException:
            await grid_in.abort()
            raise
        return StoredFile(file_id, content_type, size)

    async def discard(self, file_id: Any) -> None:
        await self.bucket.delete(file_id)

    async def content(self, file_id: Any) -> AsyncIterator[bytes]:
        stream = await self.bucket.open_download_stream(file_id)
        while chunk := await stream.readchunk():
            yield chunk

    async def sweep_orphans(self, *, older_than: datetime) -> int:
        """Delete stored bytes no record points to (an upload whose transaction failed, a crash)."""
        removed = 0
        async for file in self.files.find({"uploadDate": {"$lt": older_than}}, {"_id": 1, "metadata": 1}):
            tenant_id = (file.get("metadata") or {}).get("tenant_id")
            if await self.records.find_one({"tenant_id": tenant_id, "file_id": file["_id"]}, {"_id": 1}) is None:
                await self.bucket.delete(file["_id"])
                removed += 1
        return removed
