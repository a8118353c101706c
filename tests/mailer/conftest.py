"""Fixtures for the mailer's integration tests: a real aiosmtpd sink, settings pointing at it and
at the test infrastructure, a producer of email requests, and a view of the send ledger."""

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from devstack.processes import free_port
from devstack.smtp_sink import Mailbox, start_smtp, stop_smtp
from services.mailer.config import MailerSettings, SenderIdentity
from shared.contracts.email import EmailRequested
from shared.contracts.envelope import Envelope
from shared.contracts.topics import Stream, Topics
from shared.testing.infra import Infrastructure
from shared.testing.services import Isolation, service_settings

TENANT = "acme"


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
    """Fast retries and reconnects, so failure scenarios play out in seconds."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "smtp_reconnect_initial_s": 0.1,
        "smtp_reconnect_max_s": 1.0,
        "send_retry_initial_s": 0.2,
        "send_retry_max_s": 1.0,
        "sender_poll_interval_s": 0.2,
        "mail_inbound_domain": "inbound.acme.example",
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
                    self.topics(Stream.EMAIL_REQUESTS), value=envelope.model_dump_json().encode(),
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
