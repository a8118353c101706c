"""Running the indicators service against the real broker and database, and talking to it."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from services.indicators.app import create_app
from services.indicators.config import IndicatorsSettings
from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.topics import Topics
from shared.platform.clock import ManualClock
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation, eventually, serve_app, service_settings


class Publisher:
    """Publishes events the way the follow-ups service's relay does: one envelope per record."""

    def __init__(self, producer: AIOKafkaProducer, topics: Topics, tenant_id: str) -> None:
        self.producer, self.topics, self.tenant_id = producer, topics, tenant_id

    def envelope(self, payload: EventPayload, *, key_id: str = "c1") -> Envelope:
        return Envelope.wrap(payload, tenant_id=self.tenant_id, key_id=key_id, source="/services/followups")

    async def send(self, payload: EventPayload, *, key_id: str = "c1") -> Envelope:
        envelope = self.envelope(payload, key_id=key_id)
        await self.send_envelope(envelope, payload)
        return envelope

    async def send_envelope(self, envelope: Envelope, payload: EventPayload) -> None:
        headers = [(name, value.encode()) for name, value in envelope.kafka_headers().items()]
        await self.producer.send_and_wait(self.topics(payload.stream), value=envelope.kafka_value(),
                                          key=envelope.partitionkey.encode(), headers=headers)


@dataclass
class Running:
    """One tenant's view of the service: its API as an admin, and a publisher of its events. The same
    scenarios run on the real broker and database (`Publisher`) and offline on fakes (`tests/indicators/offline.py`)."""

    base_url: str
    app: Any
    http: httpx.AsyncClient
    publisher: Any  # `Publisher`, or the offline one delivering straight to the service's subscribers
    transport: httpx.AsyncBaseTransport | None = None  # None: over the network, to `base_url`

    def anonymous(self) -> httpx.AsyncClient:
        """A client of the same service carrying no token."""
        return httpx.AsyncClient(base_url=self.base_url, transport=self.transport)

    async def kpis(self, scope: str = "client", scope_id: str | None = "c1", **params: Any) -> dict[str, Any]:
        query = {"scope": scope, **({"id": scope_id} if scope_id else {}), **params}
        response = await self.http.get("/kpis", params=query)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def wait_for(self, check: Callable[[dict[str, Any]], bool], *, scope: str = "client",
                       scope_id: str | None = "c1", timeout_s: float = 30.0) -> dict[str, Any]:
        async def probe() -> dict[str, Any]:
            response = await self.http.get("/kpis", params={"scope": scope, **({"id": scope_id} if scope_id else {})})
            return response.json() if response.status_code == 200 else {}

        return await eventually(probe, until=lambda body: bool(body) and check(body), timeout_s=timeout_s)

    async def assert_recompute_is_clean(self, *, settle_s: float = 10.0) -> dict[str, Any]:
        """The recompute finds no difference once the recounts are over.

        A client or status definition arriving after its items (another topic) triggers a recount,
        and the settling worker catches an item counted by a transaction that read the definition
        it replaced: until those are done the recompute reports stale counts. Wait for none (at
        most `settle_s`); then, on that same report, no figure may differ."""

        async def recompute() -> dict[str, Any]:
            response = await self.http.post("/admin/recompute")
            assert response.status_code == 200, response.text
            return response.json()  # type: ignore[no-any-return]

        report = await eventually(recompute, until=lambda r: r["stale_counts"] == 0, timeout_s=settle_s,
                                  interval_s=0.3)
        assert report["differences"] == [], report
        assert report["history_differences"] == [], report
        return report


def figure(body: dict[str, Any], name: str, currency: str = "EUR") -> Decimal | None:
    """One KPI of one currency from an API answer (None when the currency is absent or the KPI is)."""
    for kpis in body.get("currencies", []):
        if kpis["currency"] == currency:
            return None if kpis[name] is None else Decimal(str(kpis[name]))
    return None


@dataclass
class Service:
    """One indicators service shared by the integration tests; each test works in its own tenant."""

    base_url: str
    app: Any
    clock: ManualClock
    producer: AIOKafkaProducer
    topics: Topics
    settings: IndicatorsSettings

    @asynccontextmanager
    async def tenant(self, tenant_id: str, token: str) -> AsyncIterator[Running]:
        async with httpx.AsyncClient(base_url=self.base_url, headers={"Authorization": f"Bearer {token}"},
                                     timeout=30.0) as http:
            yield Running(self.base_url, self.app, http, Publisher(self.producer, self.topics, tenant_id))


@asynccontextmanager
async def running_service(infra: Infrastructure, isolation: Isolation, public_key: Path, *, clock: ManualClock,
                          background: bool = True, **overrides: Any) -> AsyncIterator[Service]:
    settings = service_settings(IndicatorsSettings, infra, isolation, "indicators", public_key=public_key, **overrides)
    app = create_app(settings, clock=clock, background=background)
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    try:
        async with serve_app(app) as base_url:
            yield Service(base_url, app, clock, producer, Topics(isolation.topic_prefix), settings)
    finally:
        await producer.stop()
