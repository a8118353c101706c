"""A dunning service under test: served in-process against the real broker and database, fed real
events through Kafka, with a manual clock and the scheduler run on demand."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from services.dunning.app import create_app
from services.dunning.config import DunningSettings
from services.dunning.domain.passes import PassReport
from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.topics import Topics
from shared.platform.clock import ManualClock
from shared.platform.mongo import TYPE_REGISTRY
from shared.platform.outbox import envelope_of
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation, eventually, serve_app, service_settings
from tests.dunning.builders import TENANT


class EventFeed:
    """Publishes envelopes the way followups' relay does (key tenant:client), keeping what it sent."""

    def __init__(self, infra: Infrastructure, topics: Topics) -> None:
        self.infra = infra
        self.topics = topics
        self.sent: list[Envelope] = []
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=self.infra.kafka_bootstrap_servers)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    def wrap(self, payload: EventPayload, *, tenant_id: str = TENANT, at: datetime | None = None) -> Envelope:
        key = getattr(payload, "client_id", None) or f"status:{getattr(payload, 'code', '')}"
        return Envelope.wrap(payload, tenant_id=tenant_id, key_id=key, source="/services/followups", time=at)

    async def send(self, *payloads: EventPayload, tenant_id: str = TENANT, at: datetime | None = None) -> list[Envelope]:
        envelopes = [self.wrap(payload, tenant_id=tenant_id, at=at) for payload in payloads]
        await self.send_envelopes(envelopes)
        return envelopes

    async def send_envelopes(self, envelopes: list[Envelope]) -> None:
        assert self._producer is not None
        for envelope in envelopes:
            from shared.contracts.registry import payload_class

            stream = payload_class(envelope.type).stream  # type: ignore[union-attr]
            headers = [(k, v.encode()) for k, v in envelope.kafka_headers().items()]
            await self._producer.send_and_wait(self.topics(stream), value=envelope.kafka_value(),
                                               key=envelope.partitionkey.encode(), headers=headers)
            self.sent.append(envelope)


class Dunning:
    """Handles to one running dunning service, seen as one tenant (each test gets its own tenant)."""

    def __init__(self, *, base_url: str, app: Any, clock: ManualClock, db: Any, feed: EventFeed,
                 token: Callable[..., str], tenant: str = TENANT) -> None:
        self.base_url = base_url
        self.app = app
        self.clock = clock
        self.db = db
        self.feed = feed
        self.tenant = tenant
        self._token = token
        self.http = httpx.AsyncClient(base_url=base_url, headers=self.auth(), timeout=30)

    def as_tenant(self, tenant: str) -> "Dunning":
        return Dunning(base_url=self.base_url, app=self.app, clock=self.clock, db=self.db, feed=self.feed,
                       token=self._token, tenant=tenant)

    def auth(self, *, role: str = "credit_manager", tenant_id: str | None = None, user_id: str = "u-col"
             ) -> dict[str, str]:
        token = self._token(tenant_id=tenant_id or self.tenant, role=role, user_id=user_id)
        return {"Authorization": f"Bearer {token}"}

    async def send(self, *payloads: EventPayload, at: datetime | None = None) -> list[Envelope]:
        return await self.feed.send(*payloads, tenant_id=self.tenant, at=at)

    async def processed(self) -> int:
        return await self.db.processed_events.count_documents({})

    async def settle(self, count: int | None = None, timeout_s: float = 30.0) -> None:
        """Wait until every event sent so far (or `count`) has been handled."""
        expected = len(self.feed.sent) if count is None else count
        await eventually(self.processed, until=lambda n: n >= expected, timeout_s=timeout_s)

    def set_day(self, day: date) -> None:
        self.clock.set(datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=8))

    async def run(self, day: date, **kwargs: Any) -> PassReport:
        """A scheduler pass for this tenant as of `day`, with the clock set to that day."""
        self.set_day(day)
        return await self.app.state.dunning.scheduler.run_pass(day, tenant_ids=[self.tenant], **kwargs)

    async def staged(self, event_type: str) -> list[dict[str, Any]]:
        """Events this service staged in its outbox for this tenant (what the relay publishes), in order."""
        query = {"type": event_type, "key": {"$regex": f"^{self.tenant}:"}}
        rows = await self.db.outbox.find(query).sort([("key", 1), ("seq", 1)]).to_list()
        return [envelope_of(row).data for row in rows]

    async def emails(self) -> list[dict[str, Any]]:
        return await self.staged("arf.email.requested.v1")

    async def step_events(self) -> list[dict[str, Any]]:
        return await self.staged("arf.dunning.step-recorded.v1")

    async def records(self, **query: Any) -> list[dict[str, Any]]:
        return await self.db.step_records.find({"tenant_id": self.tenant, **query}).sort("recorded_at", 1).to_list()

    async def item(self, item_id: str) -> dict[str, Any] | None:
        return await self.db.items.find_one({"_id": f"{self.tenant}|{item_id}"})


@asynccontextmanager
async def running_dunning(
    infra: Infrastructure, isolation: Isolation, public_key: Path, token_for: Callable[..., str], *,
    start: datetime, database: str = "dunning", **overrides: Any,
) -> AsyncIterator[Dunning]:
    clock = ManualClock(start)
    settings = service_settings(DunningSettings, infra, isolation, database, public_key=public_key,
                                dunning_scheduler_enabled=False, dunning_test_mode=True, **overrides)
    app = create_app(settings, clock=clock)
    feed = EventFeed(infra, Topics(isolation.topic_prefix))
    mongo: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url, tz_aware=True, type_registry=TYPE_REGISTRY)
    await feed.start()
    try:
        async with serve_app(app) as base_url:
            service = Dunning(base_url=base_url, app=app, clock=clock, db=mongo[isolation.database(database)],
                              feed=feed, token=token_for)
            try:
                yield service
            finally:
                await service.http.aclose()
    finally:
        await feed.stop()
        await mongo.close()
