"""Every port of the indicators, twice: the in-memory fakes (a unit test) and the MongoDB adapters
(an integration test: that parameter asks for `infra`). The contract tests run on both, so a fake
cannot drift from the real thing."""

from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient

from services.indicators.adapters.history import MongoHistory
from services.indicators.adapters.mongo import MongoIndicatorStore
from services.indicators.adapters.reads import FiguresReader
from services.indicators.adapters.transaction import mongo_unit_of_work
from services.indicators.ports import Adapters
from shared.contracts.topics import Topics
from shared.platform.clock import SystemClock
from shared.platform.mongo import TYPE_REGISTRY
from shared.platform.outbox import Outbox
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation
from tests.indicators.fakes import fake_adapters


async def mongo_adapters(infra: Infrastructure) -> AsyncIterator[Adapters]:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url, type_registry=TYPE_REGISTRY, tz_aware=True)
    db = client[Isolation.new().database("indicators")]
    await MongoIndicatorStore(db).ensure_indexes()
    await MongoHistory(db).ensure_indexes()
    outbox = Outbox(db, source="/tests", topics=Topics(), clock=SystemClock())
    try:
        yield Adapters(uow=mongo_unit_of_work(client, db, outbox), figures=FiguresReader(db), history=MongoHistory(db))
    finally:
        await client.close()


@pytest.fixture(params=[pytest.param("memory"), pytest.param("mongodb", marks=pytest.mark.integration)])
async def adapters(request: pytest.FixtureRequest) -> AsyncIterator[Adapters]:
    if request.param == "memory":
        yield fake_adapters()
        return
    async for real in mongo_adapters(request.getfixturevalue("infra")):
        yield real
