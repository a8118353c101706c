"""Services as separate processes: an event crosses from one to another over the real broker,
a broker restart loses nothing, and bad configuration is one clear line with readiness false."""

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient

from devstack.processes import ManagedProcess, free_port
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation, eventually, serve_app, service_env, service_settings, wait_ready
from tests.platform.probe import ProbeSettings, create_app

PROBE = str(Path(__file__).with_name("probe.py"))


def probe_process(infra: Infrastructure, isolation: Isolation, tmp_path: Path, *, name: str, database: str,
                  consume: bool) -> tuple[ManagedProcess, str]:
    port = free_port()
    env = service_env(infra, isolation, "probe", http_port=port, mongodb_database=database,
                      probe_consume=str(consume).lower())
    process = ManagedProcess(name=name, argv=[sys.executable, PROBE], env=env, log_path=tmp_path / f"{name}.log",
                             port=port)
    return process, f"http://127.0.0.1:{port}"


async def received(infra: Infrastructure, database: str) -> list[dict]:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url)
    try:
        return await client[database].received.find().to_list()
    finally:
        await client.close()


class TestAcrossProcesses:
    async def test_event_published_by_one_process_is_handled_once_by_another(
        self, infra: Infrastructure, isolation: Isolation, tmp_path: Path
    ) -> None:
        producer, producer_url = probe_process(infra, isolation, tmp_path, name="producer",
                                               database=isolation.database("producer"), consume=False)
        consumer, consumer_url = probe_process(infra, isolation, tmp_path, name="consumer",
                                               database=isolation.database("consumer"), consume=True)
        producer.start()
        consumer.start()
        try:
            await wait_ready(producer_url, timeout_s=60)
            await wait_ready(consumer_url, timeout_s=60)
            async with httpx.AsyncClient(base_url=producer_url) as http:
                response = await http.post("/ping", json={"client_ids": ["x1", "x2"], "tenant_id": "globex"},
                                           headers={"X-Correlation-ID": "cross-process"})
            event_ids = response.json()["event_ids"]
            rows = await eventually(lambda: received(infra, isolation.database("consumer")),
                                    until=lambda r: len(r) == 2)
        finally:
            producer.stop()
            consumer.stop()
        assert sorted(row["_id"] for row in rows) == sorted(event_ids)
        assert [row["times"] for row in rows] == [1, 1]
        envelope = rows[0]["envelope"]
        assert envelope["tenant_id"] == "globex"
        assert envelope["correlation_id"] == "cross-process"
        assert envelope["source"] == "/services/probe"
        assert await received(infra, isolation.database("producer")) == []


class TestBrokerRestart:
    async def test_a_broker_restart_loses_no_event(self, infra: Infrastructure, isolation: Isolation) -> None:
        """Events consumed, events published but not yet consumed, and events committed while the broker
        is down: after a restart of the memory broker, each is handled exactly once."""
        producer_settings = service_settings(ProbeSettings, infra, isolation, "probe", probe_consume=False)
        consumer_settings = service_settings(ProbeSettings, infra, isolation, "probe",
                                             mongodb_database=isolation.database("consumer"))
        database = isolation.database("consumer")

        async def ping(http: httpx.AsyncClient, ids: list[str]) -> None:
            assert (await http.post("/ping", json={"client_ids": ids})).status_code == 200

        async with serve_app(create_app(producer_settings)) as producer_url, \
                httpx.AsyncClient(base_url=producer_url) as http:
            async with serve_app(create_app(consumer_settings)):
                await ping(http, ["before-1", "before-2"])
                await eventually(lambda: received(infra, database), until=lambda r: len(r) == 2)
            await ping(http, ["unconsumed-1", "unconsumed-2"])  # published while no consumer runs
            await eventually(lambda: _unsent(infra, isolation), until=lambda n: n == 0)
            infra.kafka_broker.stop()  # type: ignore[union-attr]
            await ping(http, ["while-down"])
            infra.kafka_broker.start()  # type: ignore[union-attr]
            infra.kafka_broker.wait_for_port(30)  # type: ignore[union-attr]
            async with serve_app(create_app(consumer_settings)):
                rows = await eventually(lambda: received(infra, database), until=lambda r: len(r) == 5,
                                        timeout_s=60)
        assert sorted(row["client_id"] for row in rows) == [
            "before-1", "before-2", "unconsumed-1", "unconsumed-2", "while-down"]
        assert all(row["times"] == 1 for row in rows)


async def _unsent(infra: Infrastructure, isolation: Isolation) -> int:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url)
    try:
        return await client[isolation.database("probe")].outbox.count_documents({"sent_at": None})
    finally:
        await client.close()


@pytest.mark.integration  # starts a service process that tries to connect
class TestBadConfiguration:
    def test_a_malformed_variable_is_one_line_naming_it(self) -> None:
        result = subprocess.run([sys.executable, "-m", "services.indicators"], capture_output=True, text=True,
                                env={"ARF_HTTP_PORT": "eighty", "PATH": "/usr/bin:/bin"}, timeout=60)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "ARF_HTTP_PORT" in lines[0] and "eighty" in lines[0]

    async def test_unreachable_broker_and_database_keep_readiness_false_and_say_so_once(
        self, tmp_path: Path
    ) -> None:
        port, dead_kafka, dead_mongo = free_port(), free_port(), free_port()
        env = {"ARF_HTTP_PORT": str(port), "ARF_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{dead_kafka}",
               "ARF_MONGODB_URL": f"mongodb://127.0.0.1:{dead_mongo}/?directConnection=true",
               "ARF_MONGODB_TIMEOUT_MS": "500", "ARF_LOG_JSON": "false"}
        service = ManagedProcess(name="indicators", argv=[sys.executable, "-m", "services.indicators"], env=env,
                                 log_path=tmp_path / "indicators.log", port=port)
        service.start()
        try:
            service.wait_for_port(60)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                assert (await http.get("/healthz")).status_code == 200
                time.sleep(3)  # several retry rounds
                readiness = await http.get("/readyz")
        finally:
            service.stop()
        assert readiness.status_code == 503
        assert readiness.json()["checks"]["mongodb"] != "ok"
        assert readiness.json()["checks"]["kafka"] != "ok"
        log = (tmp_path / "indicators.log").read_text()
        mongo_lines = [line for line in log.splitlines() if "MongoDB unreachable" in line]
        assert len(mongo_lines) == 1 and f"127.0.0.1:{dead_mongo}" in mongo_lines[0]
        assert "Traceback" not in log

    async def test_an_unreachable_broker_is_one_line_and_readiness_stays_false(
        self, infra: Infrastructure, isolation: Isolation, tmp_path: Path
    ) -> None:
        port, dead_kafka = free_port(), free_port()
        env = service_env(infra, isolation, "indicators", http_port=port, log_json="false",
                          kafka_bootstrap_servers=f"127.0.0.1:{dead_kafka}")
        service = ManagedProcess(name="indicators", argv=[sys.executable, "-m", "services.indicators"], env=env,
                                 log_path=tmp_path / "indicators.log", port=port)
        service.start()
        try:
            service.wait_for_port(60)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                time.sleep(4)  # several retry rounds
                readiness = await http.get("/readyz")
        finally:
            service.stop()
        assert readiness.status_code == 503
        assert readiness.json()["checks"] == {"mongodb": "ok", "kafka": "not connected"}
        log = (tmp_path / "indicators.log").read_text()
        kafka_lines = [line for line in log.splitlines() if "Kafka unreachable" in line]
        assert len(kafka_lines) == 1 and f"127.0.0.1:{dead_kafka}" in kafka_lines[0]
        assert "Traceback" not in log
