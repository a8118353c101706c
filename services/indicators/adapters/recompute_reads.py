"""What a recompute reads of one tenant, in MongoDB: snapshots with their counts, facts, aggregates and
the history (`RecomputeReads`), in the transaction of `session` (one snapshot of the database)."""

from collections.abc import AsyncIterator
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.indicators.adapters.mongo import (
    ACTIONS,
    CLIENTS,
    HISTORY,
    ITEMS,
    STATUSES,
    defined,
    held_action,
    held_item,
)
from services.indicators.adapters.reads import FiguresReader
from services.indicators.domain.facts import ClientFacts, StatusFacts
from services.indicators.domain.figures import AggregateKey, Figures
from services.indicators.domain.history import LogEntry
from services.indicators.ports import HeldAction, HeldItem


class MongoRecomputeReads:
    """Implements `RecomputeReads` on the service's database."""

    def __init__(self, db: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self.db, self.session = db, session

    async def facts(self, tenant_id: str) -> tuple[dict[str, ClientFacts], dict[str, StatusFacts]]:
        of_tenant = {"tenant_id": tenant_id}
        clients = {doc["client_id"]: ClientFacts.model_validate(doc)
                   for doc in defined(await self.db[CLIENTS].find(of_tenant, session=self.session).to_list())}
        statuses = {doc["code"]: StatusFacts.model_validate(doc)
                    for doc in defined(await self.db[STATUSES].find(of_tenant, session=self.session).to_list())}
        return clients, statuses

    async def all_items(self, tenant_id: str) -> AsyncIterator[HeldItem]:
        async for doc in self.db[ITEMS].find({"tenant_id": tenant_id}, session=self.session):
            yield held_item(doc)

    async def all_actions(self, tenant_id: str) -> AsyncIterator[HeldAction]:
        async for doc in self.db[ACTIONS].find({"tenant_id": tenant_id}, session=self.session):
            yield held_action(doc)

    async def aggregates(self, tenant_id: str) -> dict[AggregateKey, Figures]:
        return await FiguresReader(self.db).all_aggregates(tenant_id, session=self.session)

    async def log(self, tenant_id: str) -> AsyncIterator[LogEntry]:
        async for doc in self.db[HISTORY].find({"tenant_id": tenant_id}, session=self.session):
            yield LogEntry.model_validate(doc)
