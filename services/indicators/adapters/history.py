"""The history in MongoDB: the append-only log of changes, and daily closings of it.

A closing adds a day's logged changes (summed by `handlers/history.py`) to the figures closed the
day before, for the scopes the day touched only (sparse: a scope's state on a day is its latest
closing up to that day).
"""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.indicators.adapters.mongo import AGGREGATES, HISTORY, doc_id
from services.indicators.domain.facts import ScopeKind, scope_key
from services.indicators.domain.figures import EMPTY, Figures
from services.indicators.domain.history import LogEntry, start_of

DAILY = "daily_figures"
CLOSED = "closed_figures"
STATE = "history_state"


class MongoHistory:
    """Implements `HistoryLog` (closing, in the transaction of `session`) and `HistoryReads`."""

    def __init__(self, db: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self.session = session
        self.log = db[HISTORY]
        self.daily = db[DAILY]
        self.closed = db[CLOSED]
        self.state = db[STATE]
        self.aggregates = db[AGGREGATES]

    async def ensure_indexes(self) -> None:
        await self.daily.create_index([("tenant_id", ASCENDING), ("scope", ASCENDING), ("day", ASCENDING)])

    async def entries(self, tenant_id: str, scope: str, *, since: datetime | None, until: datetime) -> list[LogEntry]:
        """A scope's changes with `since <= at <= until`, in the order they were applied."""
        at: dict[str, datetime] = {"$lte": until}
        if since is not None:
            at["$gte"] = since
        docs = await self.log.find({"tenant_id": tenant_id, "scopes": scope, "at": at}).to_list()
        docs.sort(key=lambda doc: (doc["at"], doc["_id"]))
        return [LogEntry.model_validate(doc) for doc in docs]

    async def closed_through(self, tenant_id: str) -> date | None:
        doc = await self.state.find_one({"_id": tenant_id}, session=self.session)
        return date.fromisoformat(doc["closed_through"]) if doc else None

    async def closed_state(self, tenant_id: str, scope: str, day: date) -> dict[str, Figures]:
        """A scope's figures at the end of a closed `day`: its latest closing per currency up to it."""
        latest: dict[str, tuple[str, Figures]] = {}
        for doc in await self.daily.find({"tenant_id": tenant_id, "scope": scope,
                                          "day": {"$lte": day.isoformat()}}).to_list():
            held = latest.get(doc["currency"])
            if held is None or doc["day"] > held[0]:
                latest[doc["currency"]] = (doc["day"], Figures.from_nested(doc["figures"]))
        return {currency: figures for currency, (_, figures) in latest.items() if figures}

    async def closings(self, tenant_id: str, scope: str, *, through: date) -> list[tuple[date, str, Figures]]:
        """Every closing of a scope up to `through`, oldest first."""
        docs = await self.daily.find({"tenant_id": tenant_id, "scope": scope,
                                      "day": {"$lte": through.isoformat()}}).to_list()
        rows = [(date.fromisoformat(doc["day"]), doc["currency"], Figures.from_nested(doc["figures"])) for doc in docs]
        return sorted(rows, key=lambda row: (row[0], row[1]))

    async def tenants(self) -> list[str]:
        docs = await self.aggregates.find({"scope": scope_key(ScopeKind.TENANT)}, {"tenant_id": 1}).to_list()
        return sorted({doc["tenant_id"] for doc in docs})

    async def first_day(self, tenant_id: str) -> date | None:
        """The day the tenant's first change was applied (its tenant aggregates were created)."""
        docs = await self.aggregates.find({"tenant_id": tenant_id, "scope": scope_key(ScopeKind.TENANT)},
                                          {"created_at": 1}).to_list()
        return min(doc["created_at"] for doc in docs).date() if docs else None

    async def day_entries(self, tenant_id: str, day: date) -> list[LogEntry]:
        during = {"$gte": start_of(day), "$lt": start_of(day + timedelta(days=1))}
        cursor = self.log.find({"tenant_id": tenant_id, "at": during}, session=self.session)
        return [LogEntry.model_validate(doc) async for doc in cursor]

    async def save_closing(self, tenant_id: str, day: date, sums: Mapping[tuple[str, str], Figures]) -> None:
        await self._write_closings(tenant_id, day, sums, session=self.session)
        await self.state.replace_one({"_id": tenant_id}, {"_id": tenant_id, "closed_through": day.isoformat()},
                                     upsert=True, session=self.session)

    async def _write_closings(self, tenant_id: str, day: date, sums: Mapping[tuple[str, str], Figures], *,
                              session: AsyncClientSession | None) -> None:
        if not sums:
            return
        ids = {key: doc_id(tenant_id, *key) for key in sums}
        held = {doc["_id"]: Figures.from_nested(doc["figures"])
                async for doc in self.closed.find({"_id": {"$in": list(ids.values())}}, session=session)}
        closed_ops, daily_ops = [], []
        for (scope, currency), delta in sums.items():
            figures = held.get(ids[(scope, currency)], EMPTY) + delta
            fields = {"tenant_id": tenant_id, "scope": scope, "currency": currency, "figures": figures.nested()}
            closed_ops.append(ReplaceOne({"_id": ids[(scope, currency)]}, {**fields, "day": day.isoformat()},
                                         upsert=True))
            daily_key = doc_id(tenant_id, scope, currency, day.isoformat())
            daily_ops.append(ReplaceOne({"_id": daily_key}, {**fields, "day": day.isoformat()}, upsert=True))
        await self.closed.bulk_write(closed_ops, ordered=False, session=session)
        await self.daily.bulk_write(daily_ops, ordered=False, session=session)
