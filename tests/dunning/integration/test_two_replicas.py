"""Two dunning processes against the same database send each due step exactly once: the scheduler loops
of both run (the lease picks one), and admin runs that ignore the lease race them on purpose."""

import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient

from devstack.processes import ManagedProcess, free_port
from shared.contracts.envelope import Envelope
from shared.contracts.receivables import ItemsUpserted
from shared.contracts.topics import Stream, Topics
from devstack.testing.infra import Infrastructure
from devstack.testing.kafka import headers_of, read_topic
from devstack.testing.services import Isolation, eventually, service_env, wait_ready
from tests.dunning.builders import client_event, snapshot
from tests.dunning.harness import EventFeed

TODAY = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
CLIENTS, ITEMS_PER_CLIENT = 20, 3


@pytest.mark.slow
class TestTwoSchedulerReplicas:
    async def test_two_processes_on_one_database_send_each_due_step_once(
        self, infra: Infrastructure, public_key: Path, token_for: Callable[..., str], tmp_path: Path
    ) -> None:
        isolation = Isolation.new()
        tenant = "acme-replicas"
        replicas = []
        for n in (1, 2):
            port = free_port()
            env = service_env(infra, isolation, "dunning", public_key=public_key, http_port=port,
                              dunning_test_mode="true", dunning_test_clock_start=TODAY.isoformat(),
                              dunning_scheduler_interval_s="0.3", dunning_scheduler_lease_s="2",
                              dunning_scheduler_batch_groups="2", log_level="WARNING")
            replicas.append(ManagedProcess(name=f"dunning-{n}", argv=[sys.executable, "-m", "services.dunning"],
                                           log_path=tmp_path / f"dunning-{n}.log", env=env, port=port))
        feed = EventFeed(infra, Topics(isolation.topic_prefix))
        mongo: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url)
        db = mongo[isolation.database("dunning")]
        try:
            for replica in replicas:
                replica.start()
            await asyncio.gather(*(wait_ready(f"http://127.0.0.1:{r.port}", timeout_s=90) for r in replicas))
            await feed.start()
            for c in range(CLIENTS):
                cid = f"c{c}"
                due = (TODAY - timedelta(days=6)).date()  # first reminder due yesterday: goes out today
                await feed.send(client_event(cid), ItemsUpserted(client_id=cid, items=[
                    snapshot(f"{cid}-{i}", client_id=cid, version=1, due=due) for i in range(ITEMS_PER_CLIENT)]),
                    tenant_id=tenant)
            headers = {"Authorization": f"Bearer {token_for(tenant_id=tenant, role='admin')}"}
            async with httpx.AsyncClient(headers=headers, timeout=60) as http:
                for _ in range(3):  # race the loops and each other, ignoring the lease
                    await asyncio.gather(*(http.post(f"http://127.0.0.1:{r.port}/admin/scheduler/run",
                                                     json={"ignore_lease": True}) for r in replicas))

                async def sent_items() -> int:
                    records = await db.step_records.find({"tenant_id": tenant, "outcome": "sent"}).to_list()
                    return sum(len(r["items"]) for r in records)

                await eventually(sent_items, until=lambda n: n >= CLIENTS * ITEMS_PER_CLIENT, timeout_s=60)
                for r in replicas:
                    assert (await http.post(f"http://127.0.0.1:{r.port}/admin/scheduler/run", json={})).status_code == 200
            records = await db.step_records.find({"tenant_id": tenant, "outcome": "sent"}).to_list()
            staged = await db.outbox.count_documents({"type": "arf.email.requested.v1"})
            published = await read_topic(infra, Topics(isolation.topic_prefix)(Stream.EMAIL_REQUESTS), expect=CLIENTS)
        finally:
            await feed.stop()
            await mongo.close()
            for replica in replicas:
                replica.stop()
        item_ids = [item["item_id"] for record in records for item in record["items"]]
        assert len(item_ids) == CLIENTS * ITEMS_PER_CLIENT == len(set(item_ids))
        assert {r["step_code"] for r in records} == {"first-reminder"}
        assert staged == CLIENTS  # one email request per client and step, whoever ran the pass
        assert len(published) == CLIENTS
        idempotency = [Envelope.from_kafka(record.value, headers_of(record), record.key).data["idempotency_key"]
                       for record in published]
        assert len(set(idempotency)) == CLIENTS, "an email was requested twice"
