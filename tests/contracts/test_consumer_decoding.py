"""What the consumer makes of a record before any handler runs: binary mode and the former format both
decode; an event type no contract defines is dead-lettered with its reason; a known type that another
consumer group handles is skipped. No broker, no database: the router's decoding alone."""

from datetime import UTC, datetime
from typing import Any

from shared.contracts.envelope import Envelope
from shared.contracts.receivables import ClientUpserted, ItemsUpserted
from shared.platform.clock import ManualClock
from shared.platform.consumer import EventContext, EventRouter
from shared.platform.kafka import RawRecord
from shared.platform.metrics import Metrics
from shared.platform.settings import ConsumerSettings
from tests.contracts.legacy import legacy_record
from tests.contracts.samples import sample

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TOPIC = "arf.clients"


class RecordedDeadLetters:
    """Keeps what the router dead-letters, with the reason, as `DeadLetters.send` receives it."""

    def __init__(self) -> None:
        self.sent: list[tuple[RawRecord, str, str | None]] = []

    async def send(self, record: RawRecord, *, error: BaseException, attempts: int, event_id: str | None,
                   at: datetime) -> None:
        self.sent.append((record, f"{type(error).__name__}: {error}", event_id))


async def ignore(payload: Any, ctx: EventContext) -> None:
    raise AssertionError("decoding only: no handler runs here")


def router() -> tuple[EventRouter, RecordedDeadLetters, Metrics]:
    dead_letters, metrics = RecordedDeadLetters(), Metrics("test")
    events = EventRouter(consumer="probe", client=None, processed=None, outbox=None,  # type: ignore[arg-type]
                         dead_letters=dead_letters, metrics=metrics,  # type: ignore[arg-type]
                         settings=ConsumerSettings(), clock=ManualClock(AT))
    events.on(ClientUpserted, ignore)
    return events, dead_letters, metrics


def record(value: bytes, headers: dict[str, str], offset: int = 0) -> RawRecord:
    return RawRecord(TOPIC, 0, offset, b"acme:C1", value, headers)


def consumed(metrics: Metrics, outcome: str) -> float:
    return sum(sample.value for family in metrics.events_consumed.collect() for sample in family.samples
               if sample.name.endswith("_total") and sample.labels["outcome"] == outcome)


def envelope(payload_type: str = "arf.client.upserted.v1") -> Envelope:
    return Envelope.wrap(sample(payload_type), tenant_id="acme", key_id="C1", source="/services/followups",
                         time=AT)


async def test_binary_mode_and_the_former_format_decode_to_the_same_event() -> None:
    events, dead_letters, _ = router()
    sent = envelope()
    binary = await events._decode(record(sent.kafka_value(), sent.kafka_headers()))
    legacy = await events._decode(record(*legacy_record(sent)))
    assert binary is not None and legacy is not None
    assert binary.envelope == legacy.envelope == sent
    assert binary.payload == legacy.payload == sample("arf.client.upserted.v1")
    assert dead_letters.sent == []


async def test_an_unknown_type_is_dead_lettered_with_its_reason_and_counted() -> None:
    events, dead_letters, metrics = router()
    sent = envelope()
    headers = sent.kafka_headers() | {"ce_type": "arf.client.merged.v1"}
    assert await events._decode(record(sent.kafka_value(), headers)) is None
    value, legacy_headers = legacy_record(sent.model_copy(update={"type": "arf.client.upserted.v9"}))
    assert await events._decode(record(value, legacy_headers, offset=1)) is None
    assert [(reason, event_id) for _, reason, event_id in dead_letters.sent] == [
        (f"PermanentError: unknown event type 'arf.client.merged.v1' on {TOPIC}", sent.id),
        # a version of a type this group handles: the more precise reason, still dead-lettered and counted
        ("PermanentError: arf.client.upserted.v9: a version this consumer does not handle (it handles "
         "arf.client.upserted.v1)", sent.id),
    ]
    assert [dead.value for dead, _, _ in dead_letters.sent] == [sent.kafka_value(), value]  # the bytes, unchanged
    assert consumed(metrics, "unknown_type") == 2


async def test_a_known_type_another_group_handles_is_skipped_not_dead_lettered() -> None:
    events, dead_letters, metrics = router()
    sent = Envelope.wrap(ItemsUpserted.model_validate(sample("arf.items.upserted.v1").model_dump()),
                         tenant_id="acme", key_id="C1", source="/services/followups", time=AT)
    assert await events._decode(record(sent.kafka_value(), sent.kafka_headers())) is None
    assert dead_letters.sent == [] and consumed(metrics, "not_handled_here") == 1


async def test_a_record_that_is_no_event_is_dead_lettered_with_why() -> None:
    events, dead_letters, _ = router()
    sent = envelope()
    await events._decode(record(b"\x00not json", sent.kafka_headers()))
    await events._decode(record(b"\x00not json", {}))
    reasons = [reason for _, reason, _ in dead_letters.sent]
    assert reasons[0].startswith("PermanentError: the value is not JSON")
    assert reasons[1].startswith("PermanentError: not an event envelope")
