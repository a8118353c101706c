"""Actions, their history, qualifications and email requests in MongoDB, scoped to one tenant."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.followups.adapters.documents import from_doc, to_doc
from shared.platform.mongo import ID_CHUNK, doc_id
from shared.sequences import chunks, unique
from services.followups.domain.actions import Action
from services.followups.domain.history import HistoryEntry

Session = AsyncClientSession | None
SUMMARY = {"item_ids": 0, "content": 0}


class ActionsRepository:
    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.session = session
        self.collection = db["actions"]

    async def ensure_indexes(self) -> None:
        for field in ("client_id", "owner.user_id", "state"):
            await self.collection.create_index([("tenant_id", ASCENDING), (field, ASCENDING),
                                                ("scheduled_for", ASCENDING)])

    async def get(self, tenant_id: str, action_id: str) -> Action | None:
        doc = await self.collection.find_one({"_id": doc_id(tenant_id, action_id)}, session=self.session)
        return from_doc(Action, doc) if doc else None

    async def many(self, tenant_id: str, action_ids: Sequence[str]) -> dict[str, Action]:
        found: dict[str, Action] = {}
        for chunk in chunks(unique(action_ids), ID_CHUNK):
            async for doc in self.collection.find({"_id": {"$in": [doc_id(tenant_id, a) for a in chunk]}},
                                                  session=self.session):
                found[doc["action_id"]] = from_doc(Action, doc)
        return found

    async def save(self, tenant_id: str, action: Action) -> None:
        document = to_doc(tenant_id, action.action_id, action, item_count=len(action.item_ids))
        await self.collection.replace_one({"_id": document["_id"]}, document, upsert=True, session=self.session)

    async def search(self, tenant_id: str, *, client_id: str | None, owner_id: str | None, state: str | None,
                     action_type: str | None, date_from: date | None, date_to: date | None, skip: int,
                     limit: int) -> list[dict[str, Any]]:
        """Summaries (no item list, no content) in date order: per client, per owner, per date."""
        query: dict[str, Any] = {"tenant_id": tenant_id}
        for field, value in (("client_id", client_id), ("owner.user_id", owner_id), ("state", state),
                             ("type", action_type)):
            if value is not None:
                query[field] = value
        if date_from or date_to:
            query["scheduled_for"] = {key: value.isoformat() for key, value in (("$gte", date_from),
                                                                                ("$lte", date_to)) if value}
        cursor = self.collection.find(query, SUMMARY, session=self.session)
        cursor = cursor.sort([("scheduled_for", ASCENDING), ("action_id", ASCENDING)])
        return [_summary(doc) async for doc in cursor.skip(skip).limit(limit)]


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in doc.items() if key not in ("_id", "tenant_id")}


class HistoryRepository:
    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.session = session
        self.collection = db["history"]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("action_id", ASCENDING), ("at", ASCENDING)])
        await self.collection.create_index([("tenant_id", ASCENDING), ("client_id", ASCENDING),
                                            ("client_level", ASCENDING), ("at", ASCENDING)])

    async def add(self, tenant_id: str, entries: Sequence[HistoryEntry]) -> None:
        if entries:
            await self.collection.insert_many([to_doc(tenant_id, e.entry_id, e) for e in entries], session=self.session)

    async def of_action(self, tenant_id: str, action_id: str, *, skip: int = 0, limit: int = 500
                        ) -> list[HistoryEntry]:
        cursor = self.collection.find({"tenant_id": tenant_id, "action_id": action_id}, session=self.session)
        cursor = cursor.sort([("at", ASCENDING), ("_id", ASCENDING)]).skip(skip).limit(limit)
        return [from_doc(HistoryEntry, doc) async for doc in cursor]

    async def latest(self, tenant_id: str, action_id: str, kind: str) -> HistoryEntry | None:
        """The action's most recent entry of one kind (e.g. who confirmed it)."""
        doc = await self.collection.find_one({"tenant_id": tenant_id, "action_id": action_id, "kind": kind},
                                             sort=[("at", DESCENDING), ("_id", DESCENDING)], session=self.session)
        return from_doc(HistoryEntry, doc) if doc else None

    async def of_client(self, tenant_id: str, client_id: str, *, skip: int = 0, limit: int = 500
                        ) -> list[HistoryEntry]:
        cursor = self.collection.find({"tenant_id": tenant_id, "client_id": client_id, "client_level": True},
                                      session=self.session)
        cursor = cursor.sort([("at", DESCENDING), ("_id", DESCENDING)]).skip(skip).limit(limit)
        return [from_doc(HistoryEntry, doc) async for doc in cursor]


class QualificationsRepository:
    """One record per status change or comment on a selection: the items' own history (statuses, comments).

    A 10 000-item qualification is one document, not 10 000; an item's history reads its client's records.
    """

    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.session = session
        self.collection = db["qualifications"]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("client_id", ASCENDING), ("at", ASCENDING)])

    async def add(self, tenant_id: str, record: dict[str, Any]) -> None:
        await self.collection.insert_one({"_id": doc_id(tenant_id, record["qualification_id"]),
                                          "tenant_id": tenant_id, **record}, session=self.session)

    async def of_item(self, tenant_id: str, client_id: str, item_id: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"tenant_id": tenant_id, "client_id": client_id, "item_ids": item_id},
                                      session=self.session)
        history = []
        async for doc in cursor.sort("at", ASCENDING):
            before = doc["previous_status_codes"][doc["item_ids"].index(item_id)]
            history.append({"at": doc["at"], "actor": doc["actor"], "status_before": before,
                            "status_after": doc.get("status_code") or before, "comment": doc.get("comment"),
                            "action_id": doc.get("action_id")})
        return history

    async def of_items(self, tenant_id: str, client_id: str, item_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The records touching any of these items, oldest first (one query for a page of items)."""
        cursor = self.collection.find({"tenant_id": tenant_id, "client_id": client_id,
                                       "item_ids": {"$in": list(item_ids)}}, {"_id": 0, "tenant_id": 0},
                                      session=self.session)
        return await cursor.sort("at", ASCENDING).to_list()


class EmailsRepository:
    """The email requests this service made, with what the mailer reported back."""

    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.session = session
        self.collection = db["email_requests"]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("action_id", ASCENDING)])

    async def add(self, tenant_id: str, records: Sequence[dict[str, Any]]) -> None:
        if records:
            await self.collection.insert_many(
                [{"_id": doc_id(tenant_id, r["request_id"]), "tenant_id": tenant_id, **r} for r in records],
                session=self.session)

    async def get(self, tenant_id: str, request_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": doc_id(tenant_id, request_id)}, session=self.session)

    async def record_outcome(self, tenant_id: str, request_id: str, *, state: str, at: datetime,
                             details: dict[str, Any]) -> None:
        await self.collection.update_one({"_id": doc_id(tenant_id, request_id)},
                                         {"$set": {"state": state, "outcome_at": at, "outcome": details}},
                                         session=self.session)

    async def of_action(self, tenant_id: str, action_id: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"tenant_id": tenant_id, "action_id": action_id}, session=self.session)
        cursor = cursor.sort("requested_at", ASCENDING)
        return [_summary(doc) async for doc in cursor]
