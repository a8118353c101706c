"""The outbox and the idempotent consumer, against the real broker and database."""

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation, eventually, serve_app, service_settings
from tests.platform.probe import ProbeSettings, create_app


async def received(infra: Infrastructure, isolation: Isolation) -> list[dict]:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url)
    try:
        return await client[isolation.database("probe")].received.find().to_list()
    finally:
        await client.close()


class TestOutboxToConsumer:
    async def test_staged_events_are_published_and_handled_once_with_the_envelope_intact(
        self, infra: Infrastructure, isolation: Isolation
    ) -> None:
        app = create_app(service_settings(ProbeSettings, infra, isolation, "probe"))
        async with serve_app(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
            response = await http.post("/ping", json={"client_ids": ["c1", "c2", "c3"]},
                                       headers={"X-Correlation-ID": "corr-42"})
            assert response.status_code == 200, response.text
            event_ids = response.json()["event_ids"]
            rows = await eventually(lambda: received(infra, isolation), until=lambda r: len(r) == 3)
        assert sorted(row["_id"] for row in rows) == sorted(event_ids)
        assert all(row["times"] == 1 for row in rows)
        envelope = rows[0]["envelope"]
        assert envelope["specversion"] == "1.0"
        assert envelope["type"] == "arf.client.upserted.v1"
        assert envelope["source"] == "/services/probe"
        assert envelope["tenant_id"] == "acme"
        assert envelope["correlation_id"] == "corr-42"
        assert envelope["partitionkey"] == f"acme:{rows[0]['client_id']}"

    async def test_consumer_groups_carry_the_environments_prefix_so_environments_never_share_one(
        self, infra: Infrastructure, isolation: Isolation
    ) -> None:
        app = create_app(service_settings(ProbeSettings, infra, isolation, "probe"))
        admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
        await admin.start()

        async def groups() -> set[str]:
            return {group_id for group_id, *_ in await admin.list_consumer_groups()}

        try:
            async with serve_app(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
                # The broker lists a group once it has committed a position.
                assert (await http.post("/ping", json={"client_ids": ["c1"]})).status_code == 200
                await eventually(groups, until=lambda g: f"{isolation.topic_prefix}probe-recorder" in g)
            assert "probe-recorder" not in await groups()
        finally:
            await admin.close()
