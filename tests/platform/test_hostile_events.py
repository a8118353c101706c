"""Hostile records on every topic a service consumes: malformed, oversized, of an unknown version, naming
another tenant than their key, or with a payload off its contract. Each goes to that topic's dead-letter
topic with a reason, and no handler runs (nothing else changes). The services' own routes are read from
their `subscribe` functions; the consumer is the real one, on a fake dead-letter sink."""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from services.dunning.subscribers import subscribe as dunning
from services.followups.subscribers import subscribe as followups
from services.indicators.config import IndicatorsSettings
from services.indicators.subscribers import subscribe as indicators
from services.mailer.subscribers import subscribe as mailer
from shared.contracts.envelope import Envelope
from shared.contracts.topics import DLQ_SUFFIX, Topics
from shared.platform.clock import ManualClock
from shared.platform.consumer import EventRouter, Route
from shared.platform.kafka import RawRecord
from shared.platform.metrics import Metrics
from shared.platform.settings import ConsumerSettings

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LIMIT = 64 * 1024


@dataclass
class DeadLetterSink:
    """What the consumer dead-letters: (dead-letter topic, reason header), as `DeadLetters.send` writes them."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, record: RawRecord, *, error: BaseException, attempts: int, event_id: str | None,
                   at: datetime) -> None:
        self.sent.append((record.topic + DLQ_SUFFIX, f"{type(error).__name__}: {error}"))


class Routers:
    """Stands for the runtime in a service's `subscribe`: every group it asks for is a real `EventRouter`."""

    def __init__(self) -> None:
        self.routers: list[EventRouter] = []
        self.sink = DeadLetterSink()
        self.calls: list[str] = []

    def event_router(self, consumer: str, *, batch_size: int = 1) -> EventRouter:
        router = EventRouter(consumer=consumer, client=None, processed=None, outbox=None,  # type: ignore[arg-type]
                             dead_letters=self.sink, metrics=Metrics("hostile"),  # type: ignore[arg-type]
                             settings=ConsumerSettings(consumer_max_record_bytes=LIMIT), clock=ManualClock(NOW),
                             batch_size=batch_size)
        self.routers.append(router)
        return router

    def spy_on_handlers(self) -> None:
        """Replace every handler by one that records it ran: a hostile record must reach none."""
        for router in self.routers:
            for name, route in router.routes.items():
                router.routes[name] = Route(route.payload_cls, self._spy(name), route.transactional)

    def _spy(self, name: str) -> Callable[[Any, Any], Any]:
        async def ran(payload: Any, ctx: Any) -> None:
            self.calls.append(name)
        return ran


SERVICES: dict[str, Callable[[Routers], None]] = {
    "followups": lambda r: followups(r, SimpleNamespace(uow=None)),  # type: ignore[arg-type]
    "dunning": lambda r: dunning(r, uow=None, clock=ManualClock(NOW)),  # type: ignore[arg-type]
    "indicators": lambda r: indicators(r, uow=None, clock=ManualClock(NOW),  # type: ignore[arg-type]
                                       settings=IndicatorsSettings()),
    "mailer": lambda r: mailer(r, uow=None, domains=None, wake_sender=lambda _: None),  # type: ignore[arg-type]
}


def envelope(event_type: str, *, tenant: str = "acme", key: str = "acme:C1", data: dict[str, Any] | None = None) -> bytes:
    return Envelope(id="e-1", source="/tests", type=event_type, time=NOW, tenant_id=tenant, partitionkey=key,
                    correlation_id="c-1", data=data if data is not None else {}).model_dump_json().encode()


def version_of(event_type: str, version: int) -> str:
    return f"{event_type.rsplit('.v', 1)[0]}.v{version}"


HOSTILE: dict[str, tuple[Callable[[str], tuple[bytes, bytes]], str]] = {
    "malformed": (lambda t: (b"\x00{not json", b"acme:C1"), "not an event envelope"),
    "truncated": (lambda t: (envelope(t)[:-20], b"acme:C1"), "not an event envelope"),
    "no tenant": (lambda t: (envelope(t).replace(b'"tenant_id":"acme"', b'"tenant_id":""'), b"acme:C1"),
                  "not an event envelope: tenant_id"),
    "oversized": (lambda t: (envelope(t, data={"padding": "x" * LIMIT}), b"acme:C1"), "over the limit"),
    "unknown version": (lambda t: (envelope(version_of(t, 99)), b"acme:C1"), "a version this consumer does not handle"),
    "wrong tenant (key)": (lambda t: (envelope(t, tenant="globex", key="globex:C1"), b"acme:C1"),
                           "tenant 'globex' does not own the key 'acme:C1'"),
    "wrong tenant (partition key)": (lambda t: (envelope(t, tenant="globex", key="acme:C1"), b"globex:C1"),
                                     "does not own"),
    "payload off contract": (lambda t: (envelope(t, data={"client_id": ["not", "a", "string"]}), b"acme:C1"),
                             "payload does not match its contract"),
}


def cases() -> Iterator[Any]:
    for service, subscribe in SERVICES.items():
        routers = Routers()
        subscribe(routers)
        for router in routers.routers:
            for event_type, route in sorted(router.routes.items()):
                for case in HOSTILE:
                    yield pytest.param(service, router.consumer, event_type, case,
                                       id=f"{service}-{router.consumer}-{event_type}-{case}")


@pytest.mark.parametrize(("service", "consumer", "event_type", "case"), list(cases()))
async def test_a_hostile_record_goes_to_its_topics_dead_letters_with_a_reason_and_changes_nothing(
    service: str, consumer: str, event_type: str, case: str,
) -> None:
    routers = Routers()
    SERVICES[service](routers)
    routers.spy_on_handlers()
    router = next(r for r in routers.routers if r.consumer == consumer)
    topic = Topics()(router.routes[event_type].payload_cls.stream)
    value, key = HOSTILE[case][0](event_type)

    await router.consume(RawRecord(topic=topic, partition=0, offset=7, key=key, value=value))

    [(dead_letter_topic, reason)] = routers.sink.sent
    assert dead_letter_topic == topic + DLQ_SUFFIX
    assert HOSTILE[case][1] in reason, reason
    assert routers.calls == []


async def test_the_same_records_well_formed_reach_their_handler() -> None:
    """The control: the cases above fail for their defect, not because the consumer refuses everything."""
    routers = Routers()
    SERVICES["dunning"](routers)
    routers.spy_on_handlers()
    [router] = routers.routers
    event_type = next(t for t, r in router.routes.items() if r.payload_cls.__name__ == "ClientUpserted")
    data = {"client_id": "C1", "number": "C1", "name": "Dupont", "entity_id": "fr", "language": "fr",
            "currency": "EUR", "version": 1}
    record = RawRecord(topic=Topics()(router.routes[event_type].payload_cls.stream), partition=0, offset=1,
                       key=b"acme:C1", value=envelope(event_type, data=data))
    decoded = await router._decode(record)
    assert decoded is not None and decoded.payload.client_id == "C1"
    assert routers.sink.sent == []
    assert json.loads(record.value)["tenant_id"] == "acme"
