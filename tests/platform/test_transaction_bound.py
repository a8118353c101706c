"""A transaction is bounded on the real database: one that outlives `timeout_s` is aborted, raises
`TransactionTimeout`, wrote nothing, and leaves its document free for the next writer at once."""

import asyncio
import time

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation
from shared.platform.mongo import TransactionTimeout, create_mongo_client, run_in_transaction, transaction_timeout_s
from shared.platform.settings import MongoSettings


async def test_a_transaction_that_outlives_its_bound_is_aborted_and_holds_nothing(
    infra: Infrastructure, isolation: Isolation,
) -> None:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url)
    items = client[isolation.database("bound")].items
    await items.insert_one({"_id": "inv-1", "status": "open"})

    async def stuck(session: AsyncClientSession) -> None:
        await items.update_one({"_id": "inv-1"}, {"$set": {"status": "stuck"}}, session=session)
        await asyncio.sleep(30)  # a process that stopped making progress while holding the item

    started = time.perf_counter()
    with pytest.raises(TransactionTimeout, match="within 0.5 s"):
        await run_in_transaction(client, stuck, timeout_s=0.5)
    timed_out = time.perf_counter() - started

    async def next_writer(session: AsyncClientSession) -> None:
        await items.update_one({"_id": "inv-1"}, {"$set": {"status": "paid"}}, session=session)

    started = time.perf_counter()
    await run_in_transaction(client, next_writer, timeout_s=2)
    next_took = time.perf_counter() - started
    assert 0.5 <= timed_out < 2 and next_took < 1, (timed_out, next_took)
    assert (await items.find_one({"_id": "inv-1"}))["status"] == "paid"  # nothing of the stuck one
    print(f"stuck transaction aborted after {timed_out:.2f} s; next writer committed in {next_took * 1000:.0f} ms")


def test_a_client_carries_its_settings_bound() -> None:
    settings = MongoSettings(mongodb_transaction_timeout_s=3.5)
    assert transaction_timeout_s(create_mongo_client(settings, appname="probe")) == 3.5
    assert MongoSettings().mongodb_transaction_timeout_s == 10.0
