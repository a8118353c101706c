"""Clients, users, statuses, templates and tenant settings in MongoDB, always scoped to one tenant."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, InsertOne, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.followups.adapters.documents import from_doc, to_doc
from shared.platform.mongo import ID_CHUNK, doc_id
from shared.sequences import chunks, unique
from services.followups.domain.parties import Client, TenantSettings, User
from services.followups.domain.statuses import ItemStatus
from services.followups.domain.templates import ActionTemplate
from services.followups.ports import AlreadyRecorded

Session = AsyncClientSession | None


class ClientsRepository:
    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.session = session
        self.collection = db["clients"]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("name", ASCENDING)])

    async def get(self, tenant_id: str, client_id: str) -> Client | None:
        doc = await self.collection.find_one({"_id": doc_id(tenant_id, client_id)}, session=self.session)
        return from_doc(Client, doc) if doc else None

    async def many(self, tenant_id: str, client_ids: Sequence[str]) -> dict[str, Client]:
        found: dict[str, Client] = {}
        for chunk in chunks(unique(client_ids), ID_CHUNK):
            async for doc in self.collection.find({"_id": {"$in": [doc_id(tenant_id, c) for c in chunk]}},
                                                  session=self.session):
                found[doc["client_id"]] = from_doc(Client, doc)
        return found

    async def save_all(self, tenant_id: str, clients: Sequence[Client], *, created: set[str]) -> None:
        operations: list[Any] = [
            InsertOne(to_doc(tenant_id, c.client_id, c)) if c.client_id in created
            else ReplaceOne({"_id": doc_id(tenant_id, c.client_id)}, to_doc(tenant_id, c.client_id, c))
            for c in clients
        ]
        if operations:
            await self.collection.bulk_write(operations, ordered=False, session=self.session)

    async def page(self, tenant_id: str, *, collector_id: str | None, skip: int, limit: int) -> list[Client]:
        query: dict[str, Any] = {"tenant_id": tenant_id}
        if collector_id:
            query["collector_id"] = collector_id
        cursor = self.collection.find(query, session=self.session).sort([("name", ASCENDING), ("client_id", ASCENDING)])
        return [from_doc(Client, doc) async for doc in cursor.skip(skip).limit(limit)]


class UsersRepository:
    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.session = session
        self.collection = db["users"]

    async def get(self, tenant_id: str, user_id: str) -> User | None:
        doc = await self.collection.find_one({"_id": doc_id(tenant_id, user_id)}, session=self.session)
        return from_doc(User, doc) if doc else None

    async def active(self, tenant_id: str, user_ids: Sequence[str]) -> dict[str, User]:
        found: dict[str, User] = {}
        for chunk in chunks(unique(user_ids), ID_CHUNK):
            async for doc in self.collection.find({"_id": {"$in": [doc_id(tenant_id, u) for u in chunk]}},
                                                  session=self.session):
                if doc.get("active", True):
                    found[doc["user_id"]] = from_doc(User, doc)
        return found

    async def all(self, tenant_id: str) -> list[User]:
        cursor = self.collection.find({"tenant_id": tenant_id}, session=self.session).sort("user_id", ASCENDING)
        return [from_doc(User, doc) async for doc in cursor]

    async def save(self, tenant_id: str, user: User) -> None:
        await self.collection.replace_one({"_id": doc_id(tenant_id, user.user_id)},
                                          to_doc(tenant_id, user.user_id, user), upsert=True, session=self.session)


class StatusesRepository:
    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.session = session
        self.collection = db["statuses"]

    async def get(self, tenant_id: str, code: str) -> ItemStatus | None:
        doc = await self.collection.find_one({"_id": doc_id(tenant_id, code)}, session=self.session)
        return from_doc(ItemStatus, doc) if doc else None

    async def all(self, tenant_id: str) -> list[ItemStatus]:
        cursor = self.collection.find({"tenant_id": tenant_id}, session=self.session).sort("code", ASCENDING)
        return [from_doc(ItemStatus, doc) async for doc in cursor]

    async def save(self, tenant_id: str, statuses: Sequence[ItemStatus]) -> None:
        operations = [ReplaceOne({"_id": doc_id(tenant_id, s.code)}, to_doc(tenant_id, s.code, s), upsert=True)
                      for s in statuses]
        if operations:
            await self.collection.bulk_write(operations, ordered=False, session=self.session)


class TemplatesRepository:
    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.session = session
        self.collection = db["templates"]

    async def get(self, tenant_id: str, template_id: str) -> ActionTemplate | None:
        doc = await self.collection.find_one({"_id": doc_id(tenant_id, template_id)}, session=self.session)
        return from_doc(ActionTemplate, doc) if doc else None

    async def all(self, tenant_id: str) -> list[ActionTemplate]:
        cursor = self.collection.find({"tenant_id": tenant_id}, session=self.session).sort("name", ASCENDING)
        return [from_doc(ActionTemplate, doc) async for doc in cursor]

    async def save(self, tenant_id: str, template: ActionTemplate) -> None:
        await self.collection.replace_one({"_id": doc_id(tenant_id, template.template_id)},
                                          to_doc(tenant_id, template.template_id, template), upsert=True,
                                          session=self.session)

    async def delete(self, tenant_id: str, template_id: str) -> bool:
        result = await self.collection.delete_one({"_id": doc_id(tenant_id, template_id)}, session=self.session)
        return result.deleted_count == 1


class TenantsRepository:
    """One document per tenant: its settings, and when its defaults were installed."""

    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.session = session
        self.collection = db["tenants"]

    async def is_set_up(self, tenant_id: str) -> bool:
        return await self.collection.find_one({"_id": tenant_id}, {"_id": 1}, session=self.session) is not None

    async def mark_set_up(self, tenant_id: str, *, at: datetime) -> None:
        """Raises AlreadyRecorded when another request set the tenant up first."""
        try:
            await self.collection.insert_one({"_id": tenant_id, "tenant_id": tenant_id, "set_up_at": at,
                                              "settings": TenantSettings().model_dump()}, session=self.session)
        except DuplicateKeyError:
            raise AlreadyRecorded(f"tenant {tenant_id}") from None

    async def settings(self, tenant_id: str) -> TenantSettings:
        doc = await self.collection.find_one({"_id": tenant_id}, session=self.session)
        return TenantSettings.model_validate(doc["settings"]) if doc and doc.get("settings") else TenantSettings()

    async def save_settings(self, tenant_id: str, settings: TenantSettings) -> None:
        await self.collection.update_one({"_id": tenant_id}, {"$set": {"settings": settings.model_dump()}},
                                         upsert=True, session=self.session)
