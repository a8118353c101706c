"""Reading the current figures of a scope, the members of a group, and a tenant's reporting currency
(`FiguresReads`); and every aggregate of a tenant, for a recompute."""

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.indicators.adapters.mongo import AGGREGATES, CLIENTS
from services.indicators.domain.facts import ClientFacts
from services.indicators.domain.figures import EMPTY, AggregateKey, Figures
from services.indicators.domain.kpis import ReportingCurrency
from services.indicators.ports import ScopeFigures

SETTINGS = "tenant_settings"


def add_part(figures: dict[Any, Figures], key: Any, doc: dict[str, Any]) -> None:
    """An aggregate is stored in parts (its plain sums, its per-date sums by month): add one."""
    figures[key] = figures.get(key, EMPTY) + Figures.from_nested(doc.get("figures"))


class FiguresReader:
    """Implements `FiguresReads` on the service's database."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.aggregates = db[AGGREGATES]
        self.clients = db[CLIENTS]
        self.settings = db[SETTINGS]

    async def scope(self, tenant_id: str, scope: str) -> ScopeFigures | None:
        docs = await self.aggregates.find({"tenant_id": tenant_id, "scope": scope}).to_list()
        if not docs:
            return None
        by_currency: dict[str, Figures] = {}
        for doc in docs:
            add_part(by_currency, doc["currency"], doc)
        return ScopeFigures(
            by_currency=by_currency,
            updated_at=max((doc["updated_at"] for doc in docs if doc.get("updated_at")), default=None),
            last_event_at=max((doc["last_event_at"] for doc in docs if doc.get("last_event_at")), default=None),
        )

    async def scopes(self, tenant_id: str, scopes: list[str]) -> dict[str, dict[str, Figures]]:
        found: dict[str, dict[str, Figures]] = {scope: {} for scope in scopes}
        async for doc in self.aggregates.find({"tenant_id": tenant_id, "scope": {"$in": scopes}}):
            add_part(found[doc["scope"]], doc["currency"], doc)
        return found

    async def group_members(self, tenant_id: str, group_id: str) -> list[ClientFacts]:
        docs = await self.clients.find({"tenant_id": tenant_id, "group_id": group_id}).to_list()
        return sorted((ClientFacts.model_validate(doc) for doc in docs), key=lambda c: (c.entity_id, c.client_id))

    async def all_aggregates(self, tenant_id: str, *, session: AsyncClientSession | None = None
                             ) -> dict[AggregateKey, Figures]:
        found: dict[AggregateKey, Figures] = {}
        async for doc in self.aggregates.find({"tenant_id": tenant_id}, session=session):
            add_part(found, AggregateKey(doc["scope"], doc["currency"]), doc)
        return found

    async def reporting_currency(self, tenant_id: str) -> ReportingCurrency | None:
        doc = await self.settings.find_one({"_id": tenant_id})
        return ReportingCurrency.model_validate(doc["reporting"]) if doc and doc.get("reporting") else None

    async def set_reporting_currency(self, tenant_id: str, reporting: ReportingCurrency | None) -> None:
        value = reporting.model_dump() if reporting else None
        await self.settings.update_one({"_id": tenant_id}, {"$set": {"reporting": value}}, upsert=True)
