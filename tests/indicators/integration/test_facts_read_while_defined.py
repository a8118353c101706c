"""A client defined while one of its items is being counted, on the real database: the two transactions
conflict on the client's document, one of them is retried seeing the other, and the item ends counted
with the client's collector at once (not half a minute later, when a settling pass comes by)."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.indicators import handlers
from services.indicators.adapters.mongo import MongoIndicatorStore
from services.indicators.ports import Recorded, Session
from services.indicators.recompute import recompute_and_compare
from shared.contracts.receivables import ItemsUpserted
from shared.platform.clock import ManualClock
from shared.platform.consumer import TransactionScope
from shared.platform.mongo import TYPE_REGISTRY, run_in_transaction
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation
from tests.indicators.builders import client
from tests.indicators.fakes import TENANT, context, item

CLOCK = ManualClock(datetime(2026, 11, 2, 9, tzinfo=UTC))


class PausingStore(MongoIndicatorStore):
    """Holds the first counting transaction between its reads and its writes until `resume` is set."""

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self.read_done, self.resume = asyncio.Event(), asyncio.Event()

    async def record_many(self, recorded: Sequence[Recorded], *, session: Session) -> None:
        if not self.read_done.is_set():
            self.read_done.set()
            await self.resume.wait()
        await super().record_many(recorded, session=session)


@pytest.fixture
async def mongo(infra: Infrastructure) -> AsyncIterator[AsyncMongoClient]:
    client_: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url, type_registry=TYPE_REGISTRY, tz_aware=True)
    yield client_
    await client_.close()


async def test_a_client_defined_while_its_item_is_counted_never_leaves_the_item_counted_without_it(
    mongo: AsyncMongoClient, isolation: Isolation,
) -> None:
    db = mongo[isolation.database("indicators")]
    store = PausingStore(db)
    await store.ensure_indexes()
    imported = ItemsUpserted(client_id="c1", items=[item("i1", open_amount="100")])
    attempts = 0

    async def count_the_item(session: Session) -> None:
        nonlocal attempts
        attempts += 1
        ctx = replace(context(imported), session=session, scope=TransactionScope())
        await handlers.on_items_upserted(imported, ctx, store=store, clock=CLOCK)
        assert ctx.scope is not None
        await ctx.scope.flush()

    counting = asyncio.create_task(run_in_transaction(mongo, count_the_item))
    await store.read_done.wait()  # the item's transaction has read: no client c1 yet
    await handlers.on_client_upserted(client(collector="anna"), context(client()), store=store, clock=CLOCK,
                                      transact=lambda work: run_in_transaction(mongo, work))
    store.resume.set()
    await counting

    assert attempts == 2  # the item's transaction conflicted with the client's, and was run again
    held = await store.held_items(TENANT, ["i1"], session=None)
    assert held["i1"].counted.attribution.collector_id == "anna"
    report = await recompute_and_compare(db, TENANT, clock=CLOCK, check_history=True,
                                         transact=lambda work: run_in_transaction(mongo, work))
    assert report.clean, report
