"""What the inbound listener keeps in MongoDB: the route of each reply address (recorded when the
internal interactive email is requested), one record per reply received (its id makes an MTA's
retry a no-op), and the replies' files in GridFS (served back through signed claim checks).

GridFS cannot take part in a transaction: files are stored first, under ids derived from the
reply, so a retry after a crash overwrites the same files instead of leaving new ones behind.
"""

from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import datetime
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.errors import FileExists, NoFile
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.mailer.domain.inbound.mail import InboundRecord, ReplyRoute, StoredFile
from services.mailer.ports import AlreadyReceived

ROUTES = "reply_routes"
RECORDS = "inbound"
BUCKET = "inbound_files"


class MongoReplyRoutes:
    """The route of each reply address, by the digest of its token."""

    def __init__(self, db: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self.collection = db[ROUTES]
        self.session = session

    async def record(self, route: ReplyRoute) -> bool:
        """Idempotent: a redelivered request writes the same route again. False when the address is
        another tenant's (its route is never taken over: the lookup filters by the token's tenant anyway)."""
        document = {**route.model_dump(exclude={"key"}), "_id": route.key}
        try:
            await self.collection.replace_one({"_id": route.key, "tenant_id": route.tenant_id}, document, upsert=True,
                                              session=self.session)
        except DuplicateKeyError:
            return False
        return True

    async def find(self, tenant_id: str, key: str) -> ReplyRoute | None:
        row = await self.collection.find_one({"_id": key, "tenant_id": tenant_id}, session=self.session)
        return ReplyRoute.model_validate({**row, "key": row["_id"]}) if row else None


class MongoInboundRecords:
    """One row per reply turned into an event (and per auto-reply noted), keyed by the reply id."""

    def __init__(self, db: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self.collection = db[RECORDS]
        self.session = session

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("received_at", ASCENDING)])

    async def seen(self, reply_id: str) -> bool:
        return await self.collection.find_one({"_id": reply_id}, {"_id": 1}, session=self.session) is not None

    async def add(self, record: InboundRecord) -> None:
        """AlreadyReceived (the transaction is aborted) when two deliveries of one mail race."""
        document = asdict(record)
        document = {"_id": document.pop("reply_id"), **document}
        try:
            await self.collection.insert_one(document, session=self.session)
        except DuplicateKeyError:
            raise AlreadyReceived(record.reply_id) from None


class MongoReplyFiles:
    """The files of replies, by id, each tagged with its tenant."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.bucket = AsyncGridFSBucket(db, bucket_name=BUCKET)
        self.files = db[f"{BUCKET}.files"]

    async def store(self, file_id: str, *, tenant_id: str, filename: str, content_type: str, content: bytes,
                    now: datetime) -> None:
        metadata = {"tenant_id": tenant_id, "content_type": content_type, "stored_at": now}
        try:
            await self.bucket.upload_from_stream_with_id(file_id, filename, content, metadata=metadata)
        except (FileExists, DuplicateKeyError):
            await self._discard(file_id)  # left by an attempt that did not finish: the same bytes again
            await self.bucket.upload_from_stream_with_id(file_id, filename, content, metadata=metadata)

    async def describe(self, tenant_id: str, file_id: str) -> StoredFile | None:
        row = await self.files.find_one({"_id": file_id, "metadata.tenant_id": tenant_id})
        if row is None:
            return None
        content_type = (row.get("metadata") or {}).get("content_type", "application/octet-stream")
        return StoredFile(file_id=file_id, filename=row.get("filename") or "attachment", content_type=content_type,
                          length=row["length"])

    async def content(self, file_id: str) -> AsyncIterator[bytes]:
        stream = await self.bucket.open_download_stream(file_id)
        while chunk := await stream.readchunk():
            yield chunk

    async def _discard(self, file_id: str) -> None:
        try:
            await self.bucket.delete(file_id)
        except NoFile:
            pass
