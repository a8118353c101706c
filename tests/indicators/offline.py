"""The indicators service offline, for the unit tests: `create_app(adapters=fakes)` served over
`httpx.ASGITransport` inside the app's lifespan, events delivered straight to the handlers the
service subscribed (as its consumer would), with the same `Running` the integration tests drive
over the real broker and database, so one scenario runs on both."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.indicators.app import create_app
from services.indicators.config import IndicatorsSettings
from shared.contracts.envelope import Envelope, EventPayload
from shared.platform.clock import ManualClock
from tests.indicators.fakes import InMemoryStore, fake_adapters
from tests.indicators.integration.support import Running

BASE_URL = "http://indicators.test"


class OfflinePublisher:
    """Publishes a tenant's events the way `Publisher` does, delivering each to the service's own
    subscription for its type (no broker: no redelivery skipped by event id, versions must do)."""

    def __init__(self, app: FastAPI, tenant_id: str) -> None:
        self.app, self.tenant_id = app, tenant_id

    def envelope(self, payload: EventPayload, *, key_id: str = "c1") -> Envelope:
        return Envelope.wrap(payload, tenant_id=self.tenant_id, key_id=key_id, source="/services/followups")

    async def send(self, payload: EventPayload, *, key_id: str = "c1") -> Envelope:
        envelope = self.envelope(payload, key_id=key_id)
        await self.send_envelope(envelope, payload)
        return envelope

    async def send_envelope(self, envelope: Envelope, payload: EventPayload) -> None:
        routers = self.app.state.runtime.routers
        await next(router for router in routers if envelope.type in router.routes).deliver(envelope)


@dataclass
class OfflineService:
    """The service on fakes; `store` is the state of every fake port, for a test to inspect or damage."""

    app: FastAPI
    clock: ManualClock
    store: InMemoryStore
    settings: IndicatorsSettings

    @asynccontextmanager
    async def tenant(self, tenant_id: str, token: str) -> AsyncIterator[Running]:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(base_url=BASE_URL, transport=transport,
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            yield Running(BASE_URL, self.app, http, OfflinePublisher(self.app, tenant_id), transport)


@asynccontextmanager
async def offline_service(public_key: Path, *, clock: ManualClock, **overrides: Any) -> AsyncIterator[OfflineService]:
    """The service on a fresh in-memory store, inside its lifespan."""
    settings = IndicatorsSettings(auth_public_key_file=public_key, **overrides)
    store = InMemoryStore()
    app = create_app(settings, clock=clock, adapters=fake_adapters(store))
    async with app.router.lifespan_context(app):
        yield OfflineService(app, clock, store, settings)
