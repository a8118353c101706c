"""Test helpers: an HTTP client acting as a user of one tenant, and a log of every event published.

The same tests run on two backends: `mongo` (the service served over HTTP on the real broker and database)
and `memory` (the app on the fakes, called through ASGI; what it publishes is read from the fakes' unit of
work, and an event "published" by another service is delivered to the handler the service registered)."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from fastapi import FastAPI

from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.topics import Stream, Topics
from shared.links import new_link_key_setting
from shared.platform.clock import ManualClock
from shared.platform.runtime import OfflineRouter
from devstack.testing.infra import Infrastructure
from devstack.testing.kafka import produce
from devstack.testing.services import Isolation, eventually
from tests.followups.fakes import Fakes


LINK_KEYS = new_link_key_setting("k1")  # the session's followups signs its links with these
INBOUND = "inbound.acme.example"
LINK_POSTS_PER_MINUTE = 10


class EventLog:
    """Reads every topic of the test session from the beginning (no consumer group: no join to wait for)."""

    def __init__(self, infra: Infrastructure, topics: Topics) -> None:
        self.infra = infra
        self.topics = topics
        self.records: list[dict[str, Any]] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.infra.kafka_bootstrap_servers,
                                          enable_auto_commit=False, auto_offset_reset="earliest")
        await self._consumer.start()
        await self._consumer.topics()
        partitions = [TopicPartition(topic, p) for topic in self.topics.all()
                      for p in sorted(self._consumer.partitions_for_topic(topic) or ())]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    headers = {name: value.decode() for name, value in record.headers or ()}
                    envelope = Envelope.from_kafka(record.value, headers, record.key).model_dump(mode="json")
                    envelope["_topic"], envelope["_key"] = record.topic, record.key.decode() if record.key else None
                    self.records.append(envelope)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer:
            await self._consumer.stop()

    def of(self, tenant_id: str, event_type: type | None = None, **match: Any) -> list[dict[str, Any]]:
        """Envelopes of one tenant (optionally one payload class), whose data has the `match` values."""
        found = []
        for envelope in self.records:
            if envelope["tenant_id"] != tenant_id:
                continue
            if event_type is not None and envelope["type"] != event_type.type_name():
                continue
            if all(envelope["data"].get(key) == value for key, value in match.items()):
                found.append(envelope)
        return found

    async def wait(self, tenant_id: str, event_type: type, count: int = 1, *, timeout_s: float = 20.0,
                   **match: Any) -> list[dict[str, Any]]:
        """At least `count` such events (then a short settle, so an extra one would show up too)."""
        deadline = time.monotonic() + timeout_s
        while len(self.of(tenant_id, event_type, **match)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} {event_type.__name__} for {tenant_id} not seen in {timeout_s} s; "
                                     f"got {len(self.of(tenant_id, event_type, **match))}")
            await asyncio.sleep(0.1)
        return self.of(tenant_id, event_type, **match)

    async def settle(self, tenant_id: str, *, quiet_s: float = 1.0) -> list[dict[str, Any]]:
        """All of a tenant's events once none has arrived for `quiet_s` (to show that nothing else came)."""
        seen = -1
        while seen != len(self.of(tenant_id)):
            seen = len(self.of(tenant_id))
            await asyncio.sleep(quiet_s)
        return self.of(tenant_id)

    def payloads(self, tenant_id: str, event_type: type, **match: Any) -> list[Any]:
        return [event_type.model_validate(e["data"]) for e in self.of(tenant_id, event_type, **match)]


class MemoryEventLog(EventLog):
    """The events the fakes' unit of work committed, as the Kafka log would show them (envelope, topic, key)."""

    def __init__(self, fakes: Fakes, topics: Topics) -> None:
        self.fakes, self.topics = fakes, topics
        self._seen: dict[int, dict[str, Any]] = {}

    @property  # type: ignore[override]
    def records(self) -> list[dict[str, Any]]:
        published = self.fakes.uow.published
        for position in range(len(self._seen), len(published)):
            event = published[position]
            envelope = Envelope.wrap(event.payload, tenant_id=event.flow.tenant_id, key_id=event.key_id,
                                     source="/services/followups", correlation_id=event.flow.correlation_id,
                                     causation_id=event.flow.causation_id)
            record = envelope.model_dump(mode="json")
            record["_topic"], record["_key"] = self.topics(event.payload.stream), envelope.partitionkey
            self._seen[position] = record
        return list(self._seen.values())

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def forget(self) -> None:
        self._seen.clear()

    async def settle(self, tenant_id: str, *, quiet_s: float = 1.0) -> list[dict[str, Any]]:
        return self.of(tenant_id)  # everything a request publishes is committed before it answers


@dataclass
class Service:
    base_url: str
    clock: ManualClock
    events: EventLog
    infra: Infrastructure | None = None
    isolation: Isolation | None = None
    app: FastAPI | None = None  # memory: the app, called through ASGI
    fakes: Fakes | None = None
    delivered: set[str] = field(default_factory=set)

    @property
    def offline(self) -> bool:
        return self.app is not None

    def forget(self) -> None:
        """Memory: empty the fakes (tests never share a tenant; a small state keeps each unit of work cheap)."""
        if self.fakes is not None:
            self.fakes.reset()
            self.delivered.clear()
            assert isinstance(self.events, MemoryEventLog)
            self.events.forget()

    def topic(self, stream: Stream) -> str:
        return Topics(self.isolation.topic_prefix if self.isolation else "")(stream)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An HTTP client of the service, whichever backend it runs on."""
        if self.app is not None:
            return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=self.base_url, **kwargs)
        return httpx.AsyncClient(base_url=self.base_url, **kwargs)

    async def deliver(self, envelope: Envelope) -> None:
        """Memory: hand the event to the registered handler once (the consumer skips a redelivered id)."""
        assert self.app is not None
        if envelope.id in self.delivered:
            return
        router = self.app.state.runtime.routers[0]
        assert isinstance(router, OfflineRouter)
        await router.deliver(envelope)
        self.delivered.add(envelope.id)


class Api:
    """HTTP calls as one user of one tenant."""

    def __init__(self, service: Service, tenant_id: str, token_for: Callable[..., str], *, role: str,
                 user_id: str = "u-admin") -> None:
        self.service = service
        self.tenant_id = tenant_id
        self.token_for = token_for
        self.role = role
        self.user_id = user_id
        token = token_for(tenant_id=tenant_id, role=role, user_id=user_id)
        self.http = service.client(timeout=120.0, headers={"Authorization": f"Bearer {token}"})

    async def __aenter__(self) -> "Api":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    def as_user(self, user_id: str, role: str) -> "Api":
        return Api(self.service, self.tenant_id, self.token_for, role=role, user_id=user_id)

    @property
    def events(self) -> EventLog:
        return self.service.events

    async def ok(self, method: str, url: str, expect: int = 200, **kwargs: Any) -> Any:
        response = await self.http.request(method, url, **kwargs)
        assert response.status_code == expect, f"{method} {url}: {response.status_code} {response.text}"
        return response.json() if response.content and "json" in response.headers.get("content-type", "") else None

    async def fails(self, method: str, url: str, status: int, **kwargs: Any) -> dict[str, Any]:
        response = await self.http.request(method, url, **kwargs)
        assert response.status_code == status, f"{method} {url}: {response.status_code} {response.text}"
        return response.json()


async def seed_people(api: Api) -> None:
    """An admin, a collector who owns follow-ups, and a sales manager (all of the tenant)."""
    for user_id, name, roles in (("u-admin", "Ada Admin", ["admin"]), ("u-col", "Jean Martin", ["collector"]),
                                 ("u-sales", "Sara Sales", ["collector"])):
        await api.ok("PUT", f"/admin/users/{user_id}", json={
            "name": name, "email": f"{user_id}@acme.example", "roles": roles})


async def seed_client(api: Api, client_id: str = "C1", *, items: int = 3, language: str = "fr",
                      open_amount: str = "100.00") -> list[str]:
    """A client with a primary contact, collected by u-col, and `items` open invoices due 30 days ago."""
    await api.ok("PUT", f"/clients/{client_id}", json={
        "number": client_id, "name": f"Client {client_id}", "language": language, "currency": "EUR",
        "collector_id": "u-col",
        "contacts": [{"contact_id": "k1", "name": "Marie Dupont", "email": f"marie@{client_id.lower()}.example",
                      "is_primary": True}]})
    rows = [{"item_id": f"{client_id}-{n}", "client_id": client_id, "number": f"INV-{client_id}-{n}",
             "issue_date": "2026-09-01", "due_date": "2026-10-24", "amount": open_amount,
             "open_amount": open_amount, "currency": "EUR"} for n in range(1, items + 1)]
    if rows:
        report = await api.ok("POST", "/imports/items", json=rows)
        assert report["created"] == items and not report["rejected"], report
    return [row["item_id"] for row in rows]


async def publish(api: Api, payload: EventPayload, stream: Stream, *, times: int = 1, tenant: str | None = None,
                  source: str = "/services/mailer") -> None:
    """Publish as another service would (key tenant:client); `times=2` is a redelivery of the same event."""
    envelope = Envelope.wrap(payload, tenant_id=tenant or api.tenant_id, key_id=payload.client_id,  # type: ignore[attr-defined]
                             source=source)
    if api.service.offline:
        for _ in range(times):
            await api.service.deliver(envelope)
        return
    assert api.service.infra is not None
    for _ in range(times):
        await produce(api.service.infra, api.service.topic(stream), value=envelope.kafka_value(),
                      key=envelope.partitionkey.encode(), headers=envelope.kafka_headers())


async def history_of(api: Api, url: str, kinds: set[str], count: int) -> list[dict[str, Any]]:
    """The history at `url` once it has at least `count` entries of those kinds."""
    return await eventually(lambda: api.ok("GET", url),
                            until=lambda h: len([e for e in h if e["kind"] in kinds]) >= count, timeout_s=30)


async def send_interactive(api: Api, action_id: str, *, to: str = "u-sales@acme.example",
                           link: dict[str, Any] | None = None, body: str = "Could you check this case? #link_url"
                           ) -> dict[str, Any]:
    """An internal interactive email from the follow-up; returns its EmailRequested payload and link record."""
    from shared.contracts.email import EmailRequested

    answer = await api.ok("POST", f"/actions/{action_id}/emails", 202, json={
        "purpose": "internal_interactive", "to": [{"email": to}], "subject": "Case #client_name", "body": body,
        **({"link": link} if link is not None else {})})
    request = (await api.events.wait(api.tenant_id, EmailRequested, request_id=answer["request_id"]))[0]["data"]
    records = [r for r in await api.ok("GET", f"/actions/{action_id}/links") if r["request_id"] == answer["request_id"]]
    return {"request": request, "link": records[0], "url": request["context"]["link_url"]}
