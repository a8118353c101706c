"""A keyed request's units of work on the real database: they join the request's transaction, so what
the route reads after its write sees it, a unit of work that raised leaves nothing behind, and the
answer commits with the change (a retry replays it and applies nothing)."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation
from shared.contracts.topics import Topics
from shared.platform.clock import SystemClock
from shared.platform.idempotency import HEADER, REPLAYED_HEADER, IdempotencyMiddleware
from shared.platform.idempotency_mongo import MongoIdempotencyStore
from shared.platform.mongo import TransactionTimeout, create_mongo_client
from shared.platform.outbox import Outbox
from shared.platform.settings import MongoSettings
from shared.platform.unit_of_work import MongoUnitOfWork
from shared.ports import Flow


BOUND_S = 1.0
DELAYS: dict[str, float] = {}
HELD: list[str] = []
RELEASE = asyncio.Event()


@dataclass
class Counters:
    collection: AsyncCollection[Any]
    session: AsyncClientSession | None

    async def bump(self, name: str) -> None:
        await self.collection.update_one({"_id": name}, {"$inc": {"n": 1}}, upsert=True, session=self.session)

    async def value(self, name: str) -> int:
        found = await self.collection.find_one({"_id": name}, session=self.session)
        return 0 if found is None else int(found["n"])


@pytest.fixture
async def probe(infra: Infrastructure, isolation: Isolation) -> AsyncIterator[tuple[httpx.AsyncClient, Counters]]:
    client: AsyncMongoClient[Any] = create_mongo_client(
        MongoSettings(mongodb_url=infra.mongodb_url, mongodb_transaction_timeout_s=BOUND_S), appname="probe")
    db = client[isolation.database("idem")]
    outbox = Outbox(db, source="/probe", topics=Topics(isolation.topic_prefix), clock=SystemClock())
    uow = MongoUnitOfWork(client=client, outbox=outbox, bind=lambda session, _: Counters(db.counters, session))
    store = MongoIdempotencyStore(db)
    await store.ensure_indexes()
    app = FastAPI()

    @app.post("/counters/{name}")
    async def bump(name: str) -> dict[str, int]:
        await uow.run(lambda tx: tx.bump(name), flow=Flow("acme"))
        return {"n": await uow.reading().value(name)}  # read after the write, before the commit

    @app.post("/slow/{name}")
    async def slow(name: str) -> None:
        async def work(tx: Counters) -> None:
            await tx.bump(name)
            await asyncio.sleep(DELAYS.get(name, 0))
        await uow.run(work, flow=Flow("acme"))

    @app.post("/held/{name}")
    async def held(name: str) -> dict[str, int]:
        async def work(tx: Counters) -> None:
            await tx.bump(name)
            HELD.append(name)
            await RELEASE.wait()
        await uow.run(work, flow=Flow("acme"))
        return {"n": await uow.reading().value(name)}

    @app.post("/broken/{name}")
    async def broken(name: str) -> None:
        async def work(tx: Counters) -> None:
            await tx.bump(name)
            raise LookupError("no such thing")
        try:
            await uow.run(work, flow=Flow("acme"))
        except LookupError:
            raise HTTPException(404, "no such thing") from None

    async def tenant_of(scope: Any) -> str:
        return "acme"

    app.add_middleware(IdempotencyMiddleware, store=lambda: store, tenant_of=tenant_of,  # type: ignore[arg-type]
                       ttl_s=lambda: 3600.0, lease_s=lambda: 20.0, instance="probe")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as http:
        yield http, Counters(db.counters, None)


async def test_a_keyed_request_commits_its_change_with_its_answer_once(
    probe: tuple[httpx.AsyncClient, Counters],
) -> None:
    http, counters = probe
    started = time.perf_counter()
    first = await http.post("/counters/a", headers={HEADER: "k1"})
    took = time.perf_counter() - started
    again = await http.post("/counters/a", headers={HEADER: "k1"})
    plain = await http.post("/counters/a")
    assert first.json() == {"n": 1}  # the route's read saw its own write, inside the request's transaction
    assert (again.json(), again.headers[REPLAYED_HEADER]) == ({"n": 1}, "true")
    assert plain.json() == {"n": 2} and await counters.value("a") == 2
    print(f"first keyed request through MongoDB: {took * 1000:.0f} ms")
    for keyed in (False, True, False, True):  # the header's cost, side by side (printed, not asserted)
        started = time.perf_counter()
        for n in range(20):
            await http.post("/counters/m", headers={HEADER: f"m-{keyed}-{n}-{started}"} if keyed else {})
        print(f"{'keyed' if keyed else 'plain'}: {(time.perf_counter() - started) / 20 * 1000:.1f} ms a request")


async def test_a_unit_of_work_that_raised_leaves_nothing_and_its_answer_is_kept(
    probe: tuple[httpx.AsyncClient, Counters],
) -> None:
    http, counters = probe
    first = await http.post("/broken/b", headers={HEADER: "k2"})
    again = await http.post("/broken/b", headers={HEADER: "k2"})
    assert (first.status_code, again.status_code, again.headers[REPLAYED_HEADER]) == (404, 404, "true")
    assert await counters.value("b") == 0


async def test_a_keyed_request_past_the_transaction_bound_is_rolled_back_and_its_key_released(
    probe: tuple[httpx.AsyncClient, Counters],
) -> None:
    http, counters = probe
    DELAYS["late"] = 30.0  # stopped making progress while holding the counter
    started = time.perf_counter()
    with pytest.raises(TransactionTimeout):
        await http.post("/slow/late", headers={HEADER: "k3"})
    took = time.perf_counter() - started
    assert await counters.value("late") == 0 and BOUND_S <= took < BOUND_S + 1.5
    DELAYS["late"] = 0.0
    retried = await http.post("/slow/late", headers={HEADER: "k3"})  # processed again, not a 409
    assert retried.status_code == 200 and REPLAYED_HEADER.lower() not in retried.headers
    assert await counters.value("late") == 1


async def test_a_retry_while_the_first_is_in_flight_gets_409_then_the_answer(
    probe: tuple[httpx.AsyncClient, Counters],
) -> None:
    http, counters = probe
    RELEASE.clear()
    first = asyncio.create_task(http.post("/held/h", headers={HEADER: "k4"}))
    while "h" not in HELD:
        await asyncio.sleep(0.005)
    during = await http.post("/held/h", headers={HEADER: "k4"})
    RELEASE.set()
    answered = await first
    after = await http.post("/held/h", headers={HEADER: "k4"})
    assert during.status_code == 409 and during.headers["retry-after"]
    assert answered.json() == after.json() == {"n": 1} and after.headers[REPLAYED_HEADER] == "true"
    assert await counters.value("h") == 1
