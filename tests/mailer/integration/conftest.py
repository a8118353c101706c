"""Fixtures for the mailer's integration tests: a real aiosmtpd sink, settings pointing at it and
at the test infrastructure, a producer of email requests, and a view of the send ledger."""

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI, HTTPException
from fastapi.responses import Response
from pymongo import AsyncMongoClient

from devstack.processes import free_port
from devstack.smtp_sink import Mailbox, start_smtp, stop_smtp
from services.mailer.app import create_app
from services.mailer.config import MailerSettings, SenderIdentity
from shared.contracts.email import EmailRequested
from shared.contracts.envelope import Envelope
from shared.contracts.topics import Stream, Topics
from shared.links import LinkKeys, new_link_key_setting
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation, eventually, serve_app, service_settings

TENANT = "acme"
INBOUND_DOMAIN = "inbound.acme.example"
LINK_KEYS = new_link_key_setting("k1")
REQUESTED = "arf.email.requested.v1"
PDF = b"%PDF-1.7 a small invoice"


@dataclass
class Sink:
    """The SMTP relay the mailer talks to: a real aiosmtpd server on this event loop."""

    mailbox: Mailbox
    port: int
    server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await start_smtp(self.mailbox, host="127.0.0.1", port=self.port)

    async def stop(self) -> None:
        if self.server is not None:
            await stop_smtp(self.server, self.mailbox)
            self.server = None

    def message_ids(self) -> list[str]:
        return [mail.message["Message-ID"] for mail in self.mailbox.mails]

    def to(self, address: str) -> list[Any]:
        return [mail for mail in self.mailbox.mails if address in mail.rcpt_tos]


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    running = Sink(Mailbox(), free_port())
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def mailer_settings(infra: Infrastructure, isolation: Isolation, sink: Sink, public_key: Path | None = None,
                    **overrides: Any) -> MailerSettings:
    """Fast retries and reconnects, so failure scenarios play out in seconds; the inbound listener
    only where a test asks for it (on a port of its own)."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "smtp_reconnect_initial_s": 0.1,
        "smtp_reconnect_max_s": 1.0,
        "send_retry_initial_s": 0.2,
        "send_retry_max_s": 1.0,
        "sender_poll_interval_s": 0.2,
        "mail_inbound_domain": INBOUND_DOMAIN,
        "mail_inbound_enabled": False,
        "mail_inbound_host": "127.0.0.1",
        "link_keys": LINK_KEYS,
        "mail_senders": {TENANT: SenderIdentity(from_address="ar@acme.example", reply_to="credit@acme.example")},
        **overrides,
    }
    return service_settings(MailerSettings, infra, isolation, "mailer", public_key=public_key, **values)


@dataclass
class Requests:
    """Publishes email requests to the test's topic, as followups and dunning do."""

    infra: Infrastructure
    topics: Topics
    sent: list[Envelope] = field(default_factory=list)

    async def publish(self, requests: Sequence[EmailRequested], *, tenant_id: str = TENANT,
                      again: Sequence[Envelope] = ()) -> list[Envelope]:
        envelopes = [Envelope.wrap(r, tenant_id=tenant_id, key_id=r.client_id, source="/tests") for r in requests]
        producer = AIOKafkaProducer(bootstrap_servers=self.infra.kafka_bootstrap_servers, linger_ms=5)
        await producer.start()
        try:
            for envelope in [*envelopes, *again]:
                await producer.send(
                    self.topics(Stream.EMAIL_REQUESTS), value=envelope.kafka_value(),
                    key=envelope.partitionkey.encode(),
                    headers=[(name, value.encode()) for name, value in envelope.kafka_headers().items()],
                )
            await producer.flush()
        finally:
            await producer.stop()
        self.sent.extend(envelopes)
        return envelopes


@pytest.fixture
def requests(infra: Infrastructure, isolation: Isolation) -> Requests:
    return Requests(infra, Topics(isolation.topic_prefix))


@dataclass
class Ledger:
    """Reads the mailer's database directly, as an operator would."""

    infra: Infrastructure
    database: str

    async def rows(self, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        client: AsyncMongoClient = AsyncMongoClient(self.infra.mongodb_url, tz_aware=True)
        try:
            return await client[self.database].sends.find(query or {}, {"envelope_json": 0}).to_list()
        finally:
            await client.close()

    async def states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in await self.rows():
            counts[row["state"]] = counts.get(row["state"], 0) + 1
        return counts


@pytest.fixture
def ledger(infra: Infrastructure, isolation: Isolation) -> Ledger:
    return Ledger(infra, isolation.database("mailer"))


def all_in(states: dict[str, int], state: str, count: int) -> Callable[[dict[str, int]], bool]:
    return lambda current: current.get(state, 0) == count


@dataclass
class Reports:
    """Every delivery report the mailer publishes, collected by a background consumer."""

    events: list[Envelope] = field(default_factory=list)

    def of(self, request_id: str) -> list[Envelope]:
        return [event for event in self.events if event.data.get("request_id") == request_id]

    async def wait_for(self, request_id: str, count: int = 1, timeout_s: float = 20.0) -> list[Envelope]:
        async def probe() -> list[Envelope]:
            return self.of(request_id)

        return await eventually(probe, until=lambda found: len(found) >= count, timeout_s=timeout_s)

    def replies(self, action_id: str) -> list[Envelope]:
        return [event for event in self.events
                if event.type == "arf.reply.received.v1" and event.data.get("action_id") == action_id]

    async def wait_for_replies(self, action_id: str, count: int = 1, timeout_s: float = 20.0) -> list[Envelope]:
        async def probe() -> list[Envelope]:
            return self.replies(action_id)

        return await eventually(probe, until=lambda found: len(found) >= count, timeout_s=timeout_s)


@asynccontextmanager
async def collect_reports(infra: Infrastructure, topics: Topics) -> AsyncIterator[Reports]:
    reports = Reports()
    consumer = AIOKafkaConsumer(
        topics(Stream.EMAIL_DELIVERIES), topics(Stream.REPLIES), bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=f"test-reports-{id(reports):x}", auto_offset_reset="earliest", enable_auto_commit=False,
        session_timeout_ms=3000, heartbeat_interval_ms=1000, metadata_max_age_ms=1000,
    )

    async def run() -> None:
        await consumer.start()
        try:
            async for record in consumer:
                reports.events.append(Envelope.from_kafka(
                    record.value, {name: value.decode() for name, value in record.headers or ()}, record.key))
        finally:
            await consumer.stop()

    task = asyncio.create_task(run())
    try:
        yield reports
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def metric(base_url: str, name: str, **labels: str) -> float:
    """The sum of a Prometheus metric's samples matching `labels`, read from /metrics."""
    async with httpx.AsyncClient(base_url=base_url) as http:
        text = (await http.get("/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        label_text = line[len(name) + 1: line.index("}")]
        found = dict(part.split("=", 1) for part in label_text.split(",") if "=" in part)
        if all(found.get(key) == f'"{value}"' for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


# -- one running mailer shared by the package's integration tests (distinct addresses per test) --

@dataclass
class Mailer:
    base_url: str
    sink: Sink
    requests: Requests
    ledger: Ledger
    reports: Reports
    topics: Topics
    files_url: str
    auth: Callable[..., dict[str, str]]
    inbound_port: int
    database: str
    keys: LinkKeys

    async def consumed(self) -> float:
        return await metric(self.base_url, "arf_events_consumed_total", consumer="mailer", type=REQUESTED)

    async def row(self, request_id: str) -> dict:
        [row] = await self.ledger.rows({"request_id": request_id})
        return row

    async def row_when(self, request_id: str, until: Callable[[dict], bool], timeout_s: float = 20.0) -> dict:
        async def probe() -> dict:
            rows = await self.ledger.rows({"request_id": request_id})
            return rows[0] if rows else {}

        return await eventually(probe, until=lambda row: bool(row) and until(row), timeout_s=timeout_s)


def file_server() -> FastAPI:
    """Where attachments are fetched from (followups' role in production)."""
    files = FastAPI()

    @files.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @files.get("/files/{name}")
    async def get_file(name: str) -> Response:
        if name != "invoice.pdf":
            raise HTTPException(404)
        return Response(PDF, media_type="application/pdf")

    return files


@pytest.fixture(scope="package")
async def mailer(infra: Infrastructure, public_key: Path, token_for: Callable[..., str]) -> AsyncIterator[Mailer]:
    isolation = Isolation.new()
    sink = Sink(Mailbox(), free_port())
    await sink.start()
    topics = Topics(isolation.topic_prefix)
    inbound_port = free_port()
    settings = mailer_settings(infra, isolation, sink, public_key, send_retry_max_attempts=3,
                               mail_inbound_enabled=True, mail_inbound_port=inbound_port)
    try:
        async with serve_app(file_server()) as files_url, serve_app(create_app(settings)) as base_url, \
                collect_reports(infra, topics) as reports:
            yield Mailer(base_url, sink, Requests(infra, topics), Ledger(infra, isolation.database("mailer")),
                         reports, topics, files_url,
                         lambda role="admin", tenant=TENANT: {"Authorization": f"Bearer {token_for(tenant_id=tenant, role=role)}"},
                         inbound_port, isolation.database("mailer"), LinkKeys.parse(LINK_KEYS))
    finally:
        await sink.stop()
