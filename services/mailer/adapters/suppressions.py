"""The tenant's suppression list in MongoDB: one document per (tenant, address), `_id` derived from both."""

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.mailer.domain.suppressions import Suppression, SuppressionScope, normalised

COLLECTION = "suppressions"


def _id(tenant_id: str, email: str) -> str:
    return f"{tenant_id}:{normalised(email)}"


class MongoSuppressions:
    """The list, bound to the session of a unit of work (None: outside any transaction)."""

    def __init__(self, db: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self.collection = db[COLLECTION]
        self.session = session

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("email", ASCENDING)])

    async def get(self, tenant_id: str, email: str) -> Suppression | None:
        row = await self.collection.find_one({"_id": _id(tenant_id, email)}, session=self.session)
        return Suppression.model_validate(row) if row else None

    async def put(self, tenant_id: str, entry: Suppression) -> None:
        await self.collection.replace_one(
            {"_id": _id(tenant_id, entry.email)}, {**entry.model_dump(mode="python"), "tenant_id": tenant_id},
            upsert=True, session=self.session,
        )

    async def remove(self, tenant_id: str, email: str) -> bool:
        result = await self.collection.delete_one({"_id": _id(tenant_id, email)}, session=self.session)
        return result.deleted_count == 1

    async def entries(self, tenant_id: str, *, limit: int, after: str | None = None) -> list[Suppression]:
        query: dict[str, Any] = {"tenant_id": tenant_id}
        if after:
            query["email"] = {"$gt": after.lower()}
        rows = await self.collection.find(query, session=self.session).sort("email", ASCENDING).limit(limit).to_list()
        return [Suppression.model_validate(row) for row in rows]

    async def blocked(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], SuppressionScope]:
        """For (tenant, address) pairs, the scope of those on the list, in one query."""
        ids = sorted({_id(tenant_id, email) for tenant_id, email in pairs})
        if not ids:
            return {}
        rows = await self.collection.find({"_id": {"$in": ids}}, {"tenant_id": 1, "email": 1, "scope": 1},
                                          session=self.session).to_list()
        return {(row["tenant_id"], row["email"]): SuppressionScope(row["scope"]) for row in rows}
