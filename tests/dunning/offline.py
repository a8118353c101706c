"""A dunning service on in-memory fakes, with the same handles as the live one (`harness.Dunning`): its
HTTP API over ASGI inside the app's lifespan, events delivered to the handlers it registered, the
scheduler run on demand, and what it published and recorded read from the fakes."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from services.dunning.app import create_app
from services.dunning.config import DunningSettings
from services.dunning.domain.passes import PassReport
from shared.contracts.envelope import Envelope, EventPayload
from shared.platform.clock import ManualClock
from tests.dunning.builders import TENANT
from tests.dunning.fakes import FakeUnitOfWork, fake_adapters


class OfflineDunning:
    """Handles to one dunning service on fakes, seen as one tenant."""

    def __init__(self, *, app: Any, clock: ManualClock, uow: FakeUnitOfWork, token: Callable[..., str],
                 tenant: str = TENANT) -> None:
        self.app, self.clock, self.uow, self.tenant, self._token = app, clock, uow, tenant, token
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dunning",
                                      headers=self.auth(), timeout=30)

    def as_tenant(self, tenant: str) -> "OfflineDunning":
        return OfflineDunning(app=self.app, clock=self.clock, uow=self.uow, token=self._token, tenant=tenant)

    def auth(self, *, role: str = "credit_manager", tenant_id: str | None = None, user_id: str = "u-col"
             ) -> dict[str, str]:
        token = self._token(tenant_id=tenant_id or self.tenant, role=role, user_id=user_id)
        return {"Authorization": f"Bearer {token}"}

    async def send(self, *payloads: EventPayload, at: datetime | None = None) -> list[Envelope]:
        """Each event handed to the handler the service registered for it, in order, as the consumer would."""
        envelopes = []
        for payload in payloads:
            key = getattr(payload, "client_id", None) or f"status:{getattr(payload, 'code', '')}"
            envelope = Envelope.wrap(payload, tenant_id=self.tenant, key_id=key, source="/services/followups",
                                     time=at)
            for router in self.app.state.runtime.routers:
                await router.deliver(envelope)
            envelopes.append(envelope)
        return envelopes

    async def settle(self, count: int | None = None, timeout_s: float = 0.0) -> None:
        """Nothing to wait for: every event was handled when `send` returned."""

    def set_day(self, day: date) -> None:
        self.clock.set(datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=8))

    async def run(self, day: date, **kwargs: Any) -> PassReport:
        """A scheduler pass for this tenant as of `day`, with the clock set to that day."""
        self.set_day(day)
        return await self.app.state.dunning.scheduler.run_pass(day, tenant_ids=[self.tenant], **kwargs)

    async def staged(self, event_type: str) -> list[dict[str, Any]]:
        """Events published for this tenant, in order per client key (as the outbox sorts them)."""
        mine = [p for p in self.uow.published
                if p.payload.type_name() == event_type and p.flow.tenant_id == self.tenant]
        return [p.payload.model_dump(mode="json") for p in sorted(mine, key=lambda p: p.key_id)]

    async def emails(self) -> list[dict[str, Any]]:
        return await self.staged("arf.email.requested.v1")

    async def step_events(self) -> list[dict[str, Any]]:
        return await self.staged("arf.dunning.step-recorded.v1")

    async def records(self, **query: Any) -> list[dict[str, Any]]:
        """Step records of this tenant matching `query` field by field, as stored (`_id` and fields)."""
        docs = [{"_id": r.record_id, **r.model_dump(mode="json")} for r in
                sorted(self.uow.state.records.values(), key=lambda r: r.recorded_at) if r.tenant_id == self.tenant]
        return [d for d in docs if all(d.get(name) == value for name, value in query.items())]

    async def item(self, item_id: str) -> dict[str, Any] | None:
        item = self.uow.state.items.get((self.tenant, item_id))
        return {"_id": f"{self.tenant}|{item_id}", **item.model_dump(mode="json")} if item else None


@asynccontextmanager
async def offline_dunning(public_key: Path, token_for: Callable[..., str], *, start: datetime
                          ) -> AsyncIterator[OfflineDunning]:
    """The service on fakes, inside its app's lifespan."""
    clock = ManualClock(start)
    adapters, uow = fake_adapters()
    settings = DunningSettings(auth_public_key_file=public_key, dunning_scheduler_enabled=False,
                               dunning_test_mode=True)
    app = create_app(settings, clock=clock, adapters=adapters)
    async with app.router.lifespan_context(app):
        service = OfflineDunning(app=app, clock=clock, uow=uow, token=token_for)
        try:
            yield service
        finally:
            await service.http.aclose()
