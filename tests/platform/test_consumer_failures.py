"""Redeliveries change nothing twice; poison messages go to the dead-letter topic and the consumer
goes on; transient failures are retried; unknown types are dead-lettered with their reason. Records in
the former format (the whole envelope in the value) are read, dead-lettered and replayed alike."""

import json

import httpx
import pytest
from pymongo import AsyncMongoClient

from shared.contracts.envelope import Envelope
from shared.contracts.topics import Stream, Topics
from devstack.testing.infra import Infrastructure
from devstack.testing.kafka import headers_of, produce, read_topic
from devstack.testing.services import Isolation, eventually, serve_app, service_settings
from tests.contracts.legacy import legacy_record
from tests.platform.probe import ProbeSettings, client_event, create_app


async def received(infra: Infrastructure, isolation: Isolation) -> dict[str, dict]:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url)
    try:
        rows = await client[isolation.database("probe")].received.find().to_list()
        return {row["client_id"]: row for row in rows}
    finally:
        await client.close()


def envelope_bytes(client_id: str, name: str, *, legacy: bool = False) -> tuple[bytes, dict[str, str]]:
    """A binary-mode CloudEvent record, or with `legacy` the former format (the whole envelope as value)."""
    envelope = Envelope.wrap(client_event(client_id, name), tenant_id="acme", key_id=client_id, source="/tests")
    if legacy:
        return legacy_record(envelope)
    return envelope.kafka_value(), envelope.kafka_headers()


@pytest.fixture
def topics(isolation: Isolation) -> Topics:
    return Topics(isolation.topic_prefix)


async def metric(base_url: str, name: str, **labels: str) -> float:
    async with httpx.AsyncClient(base_url=base_url) as http:
        text = (await http.get("/metrics")).text
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{"):
            label_text = line[len(name) + 1 : line.index("}")]
            parts = dict(part.split("=", 1) for part in label_text.split(","))
            if all(parts.get(k) == f'"{v}"' for k, v in labels.items()) or not wanted:
                total += float(line.rsplit(" ", 1)[1])
    return total


class TestConsumerFailures:
    async def test_redelivered_event_has_no_second_effect(self, infra: Infrastructure, isolation: Isolation,
                                                          topics: Topics) -> None:
        app = create_app(service_settings(ProbeSettings, infra, isolation, "probe"))
        async with serve_app(app) as base_url:
            value, headers = envelope_bytes("dup", "Twice Ltd")
            for _ in range(3):
                await produce(infra, topics(Stream.CLIENTS), value=value, key=b"acme:dup", headers=headers)
            await eventually(lambda: metric(base_url, "arf_events_consumed_total", outcome="duplicate"),
                             until=lambda n: n == 2)
            rows = await received(infra, isolation)
        assert rows["dup"]["times"] == 1

    async def test_poison_messages_are_dead_lettered_with_their_error_and_the_consumer_goes_on(
        self, infra: Infrastructure, isolation: Isolation, topics: Topics
    ) -> None:
        app = create_app(service_settings(ProbeSettings, infra, isolation, "probe"))
        topic = topics(Stream.CLIENTS)
        async with serve_app(app):
            await produce(infra, topic, value=b"\x00not json", key=b"acme:p")
            value, headers = envelope_bytes("p", "x")
            bad_payload = json.loads(value) | {"currency": "euros"}
            await produce(infra, topic, value=json.dumps(bad_payload).encode(), key=b"acme:p", headers=headers)
            value, headers = envelope_bytes("p", "poison pill")
            await produce(infra, topic, value=value, key=b"acme:p", headers=headers)
            value, headers = envelope_bytes("p", "after the poison")  # same key: same partition, after them
            await produce(infra, topic, value=value, key=b"acme:p", headers=headers)

            rows = await eventually(lambda: received(infra, isolation), until=lambda r: "p" in r)
            dead = await read_topic(infra, topics.dead_letter(Stream.CLIENTS), expect=3)

        assert rows["p"]["envelope"]["data"]["name"] == "after the poison"
        assert len(dead) == 3
        errors = [headers_of(record)["dlq_error"] for record in dead]
        assert errors[0].startswith("PermanentError: not an event envelope")
        assert "currency" in errors[1]
        assert errors[2] == "PermanentError: client p cannot be handled"
        first = headers_of(dead[0])
        assert first["dlq_consumer"] == "probe-recorder"
        assert first["dlq_original_topic"] == topic
        assert {"dlq_original_partition", "dlq_original_offset", "dlq_attempts", "dlq_event_id"} <= set(first)
        assert dead[0].value == b"\x00not json"

    async def test_oversized_unknown_version_and_wrong_tenant_records_are_dead_lettered_and_change_nothing(
        self, infra: Infrastructure, isolation: Isolation, topics: Topics
    ) -> None:
        app = create_app(service_settings(ProbeSettings, infra, isolation, "probe",
                                          consumer_max_record_bytes=4096))
        topic = topics(Stream.CLIENTS)
        async with serve_app(app):
            value, headers = envelope_bytes("h", "x")
            big = json.loads(value)
            big["padding"] = "x" * 5000
            await produce(infra, topic, value=json.dumps(big).encode(), key=b"acme:h", headers=headers)
            value, headers = envelope_bytes("h", "from the future")
            newer = {**headers, "ce_type": headers["ce_type"].rsplit(".v", 1)[0] + ".v2"}
            await produce(infra, topic, value=value, key=b"acme:h", headers=newer)
            other = Envelope.wrap(client_event("h", "globex's client"), tenant_id="globex", key_id="h",
                                  source="/tests")
            await produce(infra, topic, value=other.kafka_value(), key=b"acme:h", headers=other.kafka_headers())
            value, headers = envelope_bytes("h", "after the hostile ones")  # same key: after them
            await produce(infra, topic, value=value, key=b"acme:h", headers=headers)

            rows = await eventually(lambda: received(infra, isolation), until=lambda r: "h" in r)
            dead = await read_topic(infra, topics.dead_letter(Stream.CLIENTS), expect=3)

        assert [row["envelope"]["data"]["name"] for row in rows.values()] == ["after the hostile ones"]
        errors = [headers_of(record)["dlq_error"] for record in dead]
        assert len(errors) == 3
        assert errors[0].startswith("PermanentError: record of ") and "over the limit of 4096" in errors[0]
        assert "a version this consumer does not handle" in errors[1]
        assert "tenant 'globex' does not own the key 'acme:h'" in errors[2]

    async def test_transient_failures_are_retried_until_the_handler_passes(
        self, infra: Infrastructure, isolation: Isolation, topics: Topics
    ) -> None:
        app = create_app(service_settings(ProbeSettings, infra, isolation, "probe", consumer_max_attempts=5))
        async with serve_app(app) as base_url:
            value, headers = envelope_bytes("f", "flaky-2 Ltd")
            await produce(infra, topics(Stream.CLIENTS), value=value, key=b"acme:f", headers=headers)
            rows = await eventually(lambda: received(infra, isolation), until=lambda r: "f" in r)
            failures = await metric(base_url, "arf_events_failed_total")
        assert rows["f"]["times"] == 1
        assert failures == 2

    async def test_failures_past_the_retry_budget_are_dead_lettered(
        self, infra: Infrastructure, isolation: Isolation, topics: Topics
    ) -> None:
        app = create_app(service_settings(ProbeSettings, infra, isolation, "probe", consumer_max_attempts=3))
        async with serve_app(app):
            value, headers = envelope_bytes("g", "flaky-9 Ltd")
            await produce(infra, topics(Stream.CLIENTS), value=value, key=b"acme:g", headers=headers)
            dead = await read_topic(infra, topics.dead_letter(Stream.CLIENTS), expect=1)
        assert headers_of(dead[0])["dlq_attempts"] == "3"
        assert headers_of(dead[0])["dlq_error"] == "RuntimeError: flaky failure 3"

    async def test_unknown_event_types_are_dead_lettered_with_their_reason_and_counted(
        self, infra: Infrastructure, isolation: Isolation, topics: Topics
    ) -> None:
        app = create_app(service_settings(ProbeSettings, infra, isolation, "probe"))
        async with serve_app(app) as base_url:
            value, headers = envelope_bytes("u", "x")
            await produce(infra, topics(Stream.CLIENTS), value=value, key=b"acme:u",
                          headers=headers | {"ce_type": "arf.client.merged.v7"})
            legacy = json.loads(envelope_bytes("v", "x", legacy=True)[0]) | {"type": "arf.client.upserted.v2"}
            await produce(infra, topics(Stream.CLIENTS), value=json.dumps(legacy).encode(), key=b"acme:v")
            value, headers = envelope_bytes("w", "after the unknown ones")
            await produce(infra, topics(Stream.CLIENTS), value=value, key=b"acme:w", headers=headers)
            dead = await read_topic(infra, topics.dead_letter(Stream.CLIENTS), expect=2)
            rows = await eventually(lambda: received(infra, isolation), until=lambda r: "w" in r)
            count = await eventually(
                lambda: metric(base_url, "arf_events_consumed_total", outcome="unknown_type"), until=lambda n: n == 2
            )
        assert count == 2
        assert sorted(headers_of(record)["dlq_error"] for record in dead) == [
            # a version of a type this consumer handles: dead-lettered with the more precise reason
            "PermanentError: arf.client.upserted.v2: a version this consumer does not handle (it handles "
            "arf.client.upserted.v1)",
            f"PermanentError: unknown event type 'arf.client.merged.v7' on {topics(Stream.CLIENTS)}",
        ]
        assert all(headers_of(record)["dlq_event_id"] for record in dead)
        assert set(rows) == {"w"}  # the known event after them was handled

    async def test_records_in_the_former_format_are_still_handled(
        self, infra: Infrastructure, isolation: Isolation, topics: Topics
    ) -> None:
        app = create_app(service_settings(ProbeSettings, infra, isolation, "probe"))
        async with serve_app(app):
            value, headers = envelope_bytes("old", "Whole Envelope Ltd", legacy=True)
            await produce(infra, topics(Stream.CLIENTS), value=value, key=b"acme:old", headers=headers)
            value, headers = envelope_bytes("new", "Binary Mode Ltd")
            await produce(infra, topics(Stream.CLIENTS), value=value, key=b"acme:new", headers=headers)
            rows = await eventually(lambda: received(infra, isolation), until=lambda r: {"old", "new"} <= set(r))
        assert rows["old"]["envelope"]["data"]["name"] == "Whole Envelope Ltd"
        assert rows["new"]["envelope"]["data"]["name"] == "Binary Mode Ltd"
        assert rows["old"]["envelope"]["tenant_id"] == rows["new"]["envelope"]["tenant_id"] == "acme"


class TestDeadLetterReplay:
    @pytest.mark.parametrize("legacy", [False, True], ids=["binary-mode", "former-format"])
    async def test_replayed_dead_letters_reach_their_consumer_again(
        self, infra: Infrastructure, isolation: Isolation, topics: Topics, legacy: bool
    ) -> None:
        import subprocess
        import sys

        app = create_app(service_settings(ProbeSettings, infra, isolation, "probe", consumer_max_attempts=2))
        async with serve_app(app):
            value, headers = envelope_bytes("r", "flaky-2 Ltd", legacy=legacy)  # fails twice: dead-lettered after 2 attempts
            await produce(infra, topics(Stream.CLIENTS), value=value, key=b"acme:r", headers=headers)
            await read_topic(infra, topics.dead_letter(Stream.CLIENTS), expect=1)
            assert "r" not in await received(infra, isolation)
            result = subprocess.run(
                [sys.executable, "-m", "shared.platform.dlq", "replay", "--topic",
                 topics.dead_letter(Stream.CLIENTS), "--group", "probe-recorder"],
                env={"ARF_KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers, "PATH": "/usr/bin:/bin"},
                capture_output=True, text=True, timeout=60,
            )
            assert result.returncode == 0, result.stderr
            assert result.stdout.startswith("replayed 1 of 1 dead letters")
            rows = await eventually(lambda: received(infra, isolation), until=lambda r: "r" in r)
        assert rows["r"]["times"] == 1


class TestBatchedConsumer:
    async def test_a_batch_is_handled_once_and_a_poison_record_in_it_goes_alone_to_the_dead_letters(
        self, infra: Infrastructure, isolation: Isolation, topics: Topics
    ) -> None:
        app = create_app(service_settings(ProbeSettings, infra, isolation, "probe", probe_batch_size=50))
        topic = topics(Stream.CLIENTS)
        async with serve_app(app) as base_url:
            for n in range(30):
                value, headers = envelope_bytes(f"b{n}", "poison" if n == 17 else "Batch Ltd")
                await produce(infra, topic, value=value, key=b"acme:batch", headers=headers)
                if n == 5:  # a redelivery inside the stream
                    await produce(infra, topic, value=value, key=b"acme:batch", headers=headers)
            rows = await eventually(lambda: received(infra, isolation), until=lambda r: len(r) == 29)
            dead = await read_topic(infra, topics.dead_letter(Stream.CLIENTS), expect=1)
            duplicates = await metric(base_url, "arf_events_consumed_total", outcome="duplicate")
            batched = await metric(base_url, "arf_batch_events_sum")
            batches = await metric(base_url, "arf_batch_events_count")
        assert "b17" not in rows
        assert all(row["times"] == 1 for row in rows.values())
        assert headers_of(dead[0])["dlq_error"] == "PermanentError: client b17 cannot be handled"
        assert duplicates == 1
        assert batched == 31  # every record read, the poison and the redelivery included
        assert 1 <= batches <= 31
