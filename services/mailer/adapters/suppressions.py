"""The tenant's suppression list: addresses no email goes to (hard bounces, unsubscribes, by hand).

Checked before every send. `Suppressions.add` is what the bounce handling (inbound listener) calls
for a hard bounce, with scope `all`; an unsubscribe from automatic reminders uses scope `automatic`,
which stops only automatic emails (a collector can still write to that person).
"""

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pydantic import BaseModel, ConfigDict

COLLECTION = "suppressions"


class SuppressionScope(StrEnum):
    ALL = "all"  # nothing is sent to this address (hard bounce, complaint, by hand)
    AUTOMATIC = "automatic"  # no automatic email (reminders, scheduled actions); personal emails still go


class SuppressionSource(StrEnum):
    BOUNCE = "bounce"
    UNSUBSCRIBE = "unsubscribe"
    ADMIN = "admin"


class Suppression(BaseModel):
    model_config = ConfigDict(frozen=True)

    email: str
    scope: SuppressionScope
    source: SuppressionSource
    reason: str
    send_id: str | None = None
    created_at: datetime
    created_by: str | None = None


def _id(tenant_id: str, email: str) -> str:
    return f"{tenant_id}:{email.strip().lower()}"


class Suppressions:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.collection = db[COLLECTION]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("email", ASCENDING)])

    async def add(
        self,
        tenant_id: str,
        email: str,
        *,
        reason: str,
        source: SuppressionSource,
        at: datetime,
        scope: SuppressionScope = SuppressionScope.ALL,
        send_id: str | None = None,
        by: str | None = None,
        session: AsyncClientSession | None = None,
    ) -> Suppression:
        """Put an address on the list (or widen/refresh its entry); returns what is stored."""
        entry = Suppression(email=email.strip().lower(), scope=scope, source=source, reason=reason[:500],
                            send_id=send_id, created_at=at, created_by=by)
        existing = await self.collection.find_one({"_id": _id(tenant_id, email)}, session=session)
        if existing and existing["scope"] == SuppressionScope.ALL and scope is SuppressionScope.AUTOMATIC:
            return Suppression.model_validate(existing)  # an unsubscribe never narrows a hard bounce
        await self.collection.replace_one(
            {"_id": _id(tenant_id, email)}, {**entry.model_dump(mode="python"), "tenant_id": tenant_id}, upsert=True,
            session=session,
        )
        return entry

    async def remove(self, tenant_id: str, email: str) -> bool:
        result = await self.collection.delete_one({"_id": _id(tenant_id, email)})
        return result.deleted_count == 1

    async def entries(self, tenant_id: str, *, limit: int, after: str | None = None) -> list[Suppression]:
        query: dict[str, Any] = {"tenant_id": tenant_id}
        if after:
            query["email"] = {"$gt": after.lower()}
        rows = await self.collection.find(query).sort("email", ASCENDING).limit(limit).to_list()
        return [Suppression.model_validate(row) for row in rows]

    async def blocked(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], SuppressionScope]:
        """For (tenant, address) pairs, the scope of those on the list, in one query."""
        ids = sorted({_id(tenant_id, email) for tenant_id, email in pairs})
        if not ids:
            return {}
        rows = await self.collection.find({"_id": {"$in": ids}}, {"tenant_id": 1, "email": 1, "scope": 1}).to_list()
        return {(row["tenant_id"], row["email"]): SuppressionScope(row["scope"]) for row in rows}
