"""The relay publishes what was committed — even while it was down — in order per key, from one
replica at a time; an aborted transaction leaves neither state nor events."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.topics import Stream, Topics
from shared.platform.clock import SystemClock
from shared.platform.kafka import KafkaPublisher, create_broker, ensure_topics
from shared.platform.metrics import Metrics
from shared.platform.mongo import TYPE_REGISTRY, run_in_transaction
from shared.platform.outbox import Outbox, OutboxRows
from shared.platform.relay import OutboxRelay
from shared.platform.settings import PlatformSettings
from devstack.testing.infra import Infrastructure
from devstack.testing.kafka import headers_of, read_topic
from devstack.testing.services import Isolation, eventually, serve_app, service_settings
from tests.platform.probe import ProbeSettings, client_event, create_app


@pytest_asyncio.fixture
async def mongo(infra: Infrastructure) -> AsyncIterator[AsyncMongoClient]:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url, tz_aware=True, type_registry=TYPE_REGISTRY)
    yield client
    await client.close()


def make_outbox(mongo: AsyncMongoClient, isolation: Isolation) -> Outbox:
    return Outbox(mongo[isolation.database("probe")], source="/tests", topics=Topics(isolation.topic_prefix),
                  clock=SystemClock())


async def stage_pings(mongo: AsyncMongoClient, outbox: Outbox, client_ids: list[str], *, fail: bool = False) -> None:
    async def work(session: AsyncClientSession) -> None:
        await outbox.rows.database.state.update_one({"_id": "pings"}, {"$inc": {"n": 1}}, upsert=True,
                                                    session=session)
        await outbox.stage(session, [outbox.envelope(client_event(cid, "Client"), tenant_id="acme", key_id=cid)
                                     for cid in client_ids])
        if fail:
            raise RuntimeError("the use case failed after staging")

    await run_in_transaction(mongo, work)


class TestTransactionalOutbox:
    async def test_aborted_transaction_leaves_neither_state_nor_events(
        self, mongo: AsyncMongoClient, isolation: Isolation
    ) -> None:
        outbox = make_outbox(mongo, isolation)
        with pytest.raises(RuntimeError):
            await stage_pings(mongo, outbox, ["c1", "c2"], fail=True)
        db = mongo[isolation.database("probe")]
        assert await db.state.count_documents({}) == 0
        assert await db.outbox.count_documents({}) == 0
        assert await db.outbox_keys.count_documents({}) == 0

    async def test_rows_committed_while_no_relay_runs_are_published_when_it_starts(
        self, infra: Infrastructure, mongo: AsyncMongoClient, isolation: Isolation
    ) -> None:
        await stage_pings(mongo, make_outbox(mongo, isolation), ["a", "b", "c"])
        db = mongo[isolation.database("probe")]
        async with serve_app(create_app(service_settings(ProbeSettings, infra, isolation, "probe"))):
            rows = await eventually(lambda: db.received.find().to_list(), until=lambda r: len(r) == 3)
        assert sorted(row["client_id"] for row in rows) == ["a", "b", "c"]
        assert await db.outbox.count_documents({"sent_at": None}) == 0


class TestRelayOrdering:
    async def test_a_key_waits_for_an_earlier_row_not_yet_visible(
        self, mongo: AsyncMongoClient, isolation: Isolation
    ) -> None:
        db = mongo[isolation.database("probe")]
        now = datetime.now(UTC)
        base = {"topic": "t", "value": "{}", "headers": {}, "created_at": now, "sent_at": None}
        await db.outbox_keys.insert_many([{"_id": "acme:x", "seq": 3, "sent_seq": 0},
                                          {"_id": "acme:y", "seq": 1, "sent_seq": 0}])
        await db.outbox.insert_many([{**base, "key": "acme:x", "seq": 1}, {**base, "key": "acme:x", "seq": 3},
                                     {**base, "key": "acme:y", "seq": 1}])
        ready = await OutboxRows(db).pending(100)
        assert [(row["key"], row["seq"]) for row in ready] == [("acme:x", 1), ("acme:y", 1)]

    async def test_marking_a_batch_sent_touches_exactly_its_rows_across_keys_and_chunks(
        self, mongo: AsyncMongoClient, isolation: Isolation
    ) -> None:
        db = mongo[isolation.database("probe")]
        now = datetime.now(UTC)
        base = {"topic": "t", "value": "{}", "headers": {}, "created_at": now, "sent_at": None}
        await db.outbox_keys.insert_many([{"_id": f"acme:{k}", "seq": 10, "sent_seq": 0} for k in range(12)])
        await db.outbox.insert_many([{**base, "key": f"acme:{k}", "seq": seq} for k in range(12) for seq in range(1, 11)])
        rows = OutboxRows(db)
        batch = [row for row in await rows.pending(1000) if row["seq"] <= 6]  # 72 rows: two chunks of ids
        await rows.mark_sent(batch, now)
        unsent = await db.outbox.find({"sent_at": None}).to_list()
        assert sorted((row["key"], row["seq"]) for row in unsent) == sorted(
            (f"acme:{k}", seq) for k in range(12) for seq in range(7, 11))
        assert {doc["sent_seq"] for doc in await db.outbox_keys.find().to_list()} == {6}

    async def test_two_relays_publish_every_row_once_in_order_per_key(
        self, infra: Infrastructure, mongo: AsyncMongoClient, isolation: Isolation
    ) -> None:
        outbox = make_outbox(mongo, isolation)
        for round_ in range(20):
            await stage_pings(mongo, outbox, [f"k{round_ % 3}", f"k{(round_ + 1) % 3}"])
        settings = service_settings(PlatformSettings, infra, isolation, "probe", outbox_batch_size=7)
        topics = Topics(isolation.topic_prefix)
        await ensure_topics(settings, topics.all())
        relays, brokers = [], []
        for owner in ("replica-a", "replica-b"):
            broker = create_broker(settings, client_id=owner, description="test")
            await broker.connect()
            brokers.append(broker)
            relays.append(OutboxRelay(
                db=mongo[isolation.database("probe")], outbox=outbox, publisher=KafkaPublisher(broker),
                settings=settings, metrics=Metrics("probe"), clock=SystemClock(), owner=owner,
                topics_to_ensure=[], marker_topic="unused",
            ))
        tasks = [asyncio.create_task(relay.run()) for relay in relays]
        try:
            records = await read_topic(infra, topics(Stream.CLIENTS), expect=40)
            await asyncio.sleep(1.0)  # a duplicate from the second replica would arrive by now
            records += await read_topic(infra, topics(Stream.CLIENTS), expect=41, timeout_s=2)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for broker in brokers:
                await broker.stop()
        event_ids = [headers_of(record)["ce_id"] for record in records]
        assert len(set(event_ids)) == 40
        rows = await mongo[isolation.database("probe")].outbox.find().to_list()
        seq_of = {row["event_id"]: (row["key"], row["seq"]) for row in rows}
        per_key: dict[str, list[int]] = {}
        for record in records[:40]:
            key, seq = seq_of[headers_of(record)["ce_id"]]
            per_key.setdefault(key, []).append(seq)
        assert all(seqs == sorted(seqs) for seqs in per_key.values()), per_key
