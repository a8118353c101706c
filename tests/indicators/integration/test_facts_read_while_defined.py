"""A client defined while one of its items is being counted, on the real database: the two transactions
conflict on the client's document, one of them is retried seeing the other, and the item ends counted
with the client's collector at once (not half a minute later, when a settling pass comes by)."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.indicators.adapters.history import MongoHistory
from services.indicators.adapters.mongo import MongoIndicatorStore
from services.indicators.adapters.recompute_reads import MongoRecomputeReads
from services.indicators.adapters.transaction import MongoTx
from services.indicators.config import IndicatorsSettings
from services.indicators.handlers.definitions import on_client_upserted
from services.indicators.handlers.recompute import recompute_and_compare
from services.indicators.ports import Recorded
from services.indicators.subscribers import routes
from shared.contracts.receivables import ItemsUpserted
from shared.contracts.topics import Topics
from shared.platform.clock import ManualClock
from shared.platform.consumer import TransactionScope
from shared.platform.mongo import TYPE_REGISTRY, run_in_transaction
from shared.platform.outbox import Outbox
from shared.platform.unit_of_work import MongoOutgoing, MongoUnitOfWork
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation
from tests.indicators.builders import client
from tests.indicators.fakes import TENANT, context, item

CLOCK = ManualClock(datetime(2026, 11, 2, 9, tzinfo=UTC))


@dataclass
class Gate:
    """Holds the first counting transaction between its reads and its writes until `resume` is set."""

    read_done: asyncio.Event = field(default_factory=asyncio.Event)
    resume: asyncio.Event = field(default_factory=asyncio.Event)


class PausingStore(MongoIndicatorStore):
    def __init__(self, db: Any, session: AsyncClientSession | None, gate: Gate) -> None:
        super().__init__(db, session)
        self.gate = gate

    async def record_many(self, recorded: Sequence[Recorded]) -> None:
        if not self.gate.read_done.is_set():
            self.gate.read_done.set()
            await self.gate.resume.wait()
        await super().record_many(recorded)


@pytest.fixture
async def mongo(infra: Infrastructure) -> AsyncIterator[AsyncMongoClient]:
    client_: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url, type_registry=TYPE_REGISTRY, tz_aware=True)
    yield client_
    await client_.close()


async def test_a_client_defined_while_its_item_is_counted_never_leaves_the_item_counted_without_it(
    mongo: AsyncMongoClient, isolation: Isolation,
) -> None:
    db = mongo[isolation.database("indicators")]
    gate = Gate()

    def bind(session: AsyncClientSession | None, outgoing: MongoOutgoing) -> MongoTx:
        return MongoTx(store=PausingStore(db, session, gate), history=MongoHistory(db, session),
                       recompute_reads=MongoRecomputeReads(db, session))

    uow = MongoUnitOfWork(client=mongo, outbox=Outbox(db, source="/tests", topics=Topics(), clock=CLOCK), bind=bind)
    await MongoIndicatorStore(db).ensure_indexes()
    imported = ItemsUpserted(client_id="c1", items=[item("i1", open_amount="100")])
    count = next(handler for payload_cls, handler, _ in routes(uow=uow, clock=CLOCK, settings=IndicatorsSettings())
                 if payload_cls is ItemsUpserted)
    attempts = 0

    async def count_the_item(session: AsyncClientSession) -> None:
        """The item's event in the consumer's transaction, the way the platform hands it over."""
        nonlocal attempts
        attempts += 1
        ctx = replace(context(imported), session=session, scope=TransactionScope())
        await count(imported, ctx)
        assert ctx.scope is not None
        await ctx.scope.flush()

    counting = asyncio.create_task(run_in_transaction(mongo, count_the_item))
    await gate.read_done.wait()  # the item's transaction has read: no client c1 yet
    await on_client_upserted(client(collector="anna"), context(client()).envelope, uow=uow, clock=CLOCK)
    gate.resume.set()
    await counting

    assert attempts == 2  # the item's transaction conflicted with the client's, and was run again
    held = await MongoIndicatorStore(db).held_items(TENANT, ["i1"])
    assert held["i1"].counted.attribution.collector_id == "anna"
    report = await recompute_and_compare(TENANT, uow=uow, clock=CLOCK, check_history=True)
    assert report.clean, report
