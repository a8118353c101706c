"""Issued links, the forms they sent (each form once) and their POST counts per minute, in MongoDB.

Kept in the database, not in a process, so revocation, replay refusal and the rate limit hold across
replicas. Old form and counter documents carry a TTL index; nothing depends on it being reaped quickly.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contracts.values import Actor
from services.followups.adapters.documents import from_doc, to_doc
from shared.platform.mongo import doc_id
from services.followups.domain.links import LinkRecord
from services.followups.ports import AlreadyRecorded

Session = AsyncClientSession | None
FORMS_KEPT_S = 8 * 24 * 3600


class LinksRepository:
    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.session = session
        self.collection = db["links"]
        self.forms = db["link_forms"]
        self.counters = db["link_post_counters"]
        self.tenants = db["link_tenants"]  # a short link names only its link: this finds whose it is

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("action_id", ASCENDING)])
        await self.collection.create_index([("tenant_id", ASCENDING), ("recipient", ASCENDING)])
        await self.forms.create_index("at", expireAfterSeconds=FORMS_KEPT_S)
        await self.counters.create_index("at", expireAfterSeconds=3600)

    async def add(self, tenant_id: str, records: Sequence[LinkRecord]) -> None:
        if records:
            await self.collection.insert_many([to_doc(tenant_id, r.link_id, r) for r in records], session=self.session)
            await self.tenants.insert_many([{"_id": r.link_id, "tenant_id": tenant_id} for r in records],
                                           session=self.session)

    async def tenant_of(self, link_id: str) -> str | None:
        """The tenant a link was issued in (link ids are unique across tenants)."""
        doc = await self.tenants.find_one({"_id": link_id}, session=self.session)
        return doc["tenant_id"] if doc else None

    async def get(self, tenant_id: str, link_id: str) -> LinkRecord | None:
        doc = await self.collection.find_one({"_id": doc_id(tenant_id, link_id)}, session=self.session)
        return from_doc(LinkRecord, doc) if doc else None

    async def of_action(self, tenant_id: str, action_id: str, *, recipient: str | None = None) -> list[LinkRecord]:
        query: dict[str, Any] = {"tenant_id": tenant_id, "action_id": action_id}
        if recipient is not None:
            query["recipient"] = recipient.lower()
        cursor = self.collection.find(query, session=self.session).sort("issued_at", ASCENDING)
        return [from_doc(LinkRecord, doc) async for doc in cursor]

    async def revoke(self, tenant_id: str, *, link_id: str | None = None, recipient: str | None = None,
                     by: Actor, at: datetime, reason: str) -> int:
        """Revoke one link, or every link of a recipient; returns how many were still active."""
        query: dict[str, Any] = {"tenant_id": tenant_id, "revoked": False}
        if link_id is not None:
            query["_id"] = doc_id(tenant_id, link_id)
        if recipient is not None:
            query["recipient"] = recipient.lower()
        result = await self.collection.update_many(query, {"$set": {
            "revoked": True, "revoked_at": at, "revoked_by": by.model_dump(), "revoke_reason": reason}},
            session=self.session)
        return result.modified_count

    async def use_form(self, tenant_id: str, link_id: str, nonce: str, *, at: datetime) -> bool:
        """Record a form as sent; False when it was sent before (a replayed POST)."""
        try:
            await self.forms.insert_one({"_id": doc_id(tenant_id, f"{link_id}:{nonce}"), "tenant_id": tenant_id,
                                         "link_id": link_id, "at": at}, session=self.session)
        except DuplicateKeyError:
            return False
        return True

    async def count_post(self, tenant_id: str, link_id: str, *, at: datetime) -> int:
        """POSTs to this link in the current minute, this one included."""
        minute = int(at.timestamp() // 60)
        doc = await self.counters.find_one_and_update(
            {"_id": doc_id(tenant_id, f"{link_id}:{minute}")},
            {"$inc": {"count": 1}, "$setOnInsert": {"tenant_id": tenant_id, "link_id": link_id, "at": at}},
            upsert=True, return_document=ReturnDocument.AFTER, session=self.session)
        return int(doc["count"])

    async def forms_used(self, tenant_id: str, link_id: str) -> int:
        return await self.forms.count_documents({"tenant_id": tenant_id, "link_id": link_id}, session=self.session)


class RepliesRepository:
    """Replies handled (accepted or refused), by reply id: a redelivered reply changes nothing twice."""

    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.session = session
        self.collection = db["replies"]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("action_id", ASCENDING)])

    async def seen(self, tenant_id: str, reply_id: str) -> bool:
        return await self.collection.find_one({"_id": doc_id(tenant_id, reply_id)}, {"_id": 1},
                                              session=self.session) is not None

    async def add(self, tenant_id: str, record: dict[str, Any]) -> None:
        """Raises AlreadyRecorded when the reply was handled already."""
        try:
            await self.collection.insert_one({"_id": doc_id(tenant_id, record["reply_id"]), "tenant_id": tenant_id,
                                              **record}, session=self.session)
        except DuplicateKeyError:
            raise AlreadyRecorded(f"reply {record['reply_id']}") from None
