"""One contract suite per port, run against the in-memory fake (unit) and the real adapter
(integration: MongoDB, or a real SMTP server), so the fakes the unit tests use cannot drift."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from services.mailer.adapters.inbound import MongoInboundRecords, MongoReplyFiles
from services.mailer.adapters.ledger import MongoSendLedger
from services.mailer.adapters.suppressions import MongoSuppressions
from services.mailer.adapters.unit_of_work import mongo_unit_of_work
from services.mailer.domain.sends import Send, new_send
from services.mailer.ports import MailerTx, ReplyFiles
from shared.contracts.envelope import Envelope
from shared.contracts.topics import Topics
from shared.platform.clock import SystemClock
from shared.platform.mongo import TYPE_REGISTRY
from shared.platform.outbox import Outbox, envelope_of
from shared.ports import UnitOfWork
from tests.mailer.fakes import Fakes
from tests.mailer.samples import email_request

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # whole milliseconds: MongoDB keeps no finer


@dataclass(frozen=True)
class Seen:
    """An event as published: type, tenant, key, flow and subject."""

    type: str
    tenant_id: str
    key_id: str
    correlation_id: str | None
    causation_id: str | None
    subject: str | None


@dataclass
class World:
    uow: UnitOfWork[MailerTx]
    files: ReplyFiles
    published: Callable[[], Awaitable[list[Seen]]]

    @property
    def tx(self) -> MailerTx:
        """The repositories outside any transaction."""
        return self.uow.reading()


async def memory_world() -> World:
    fakes = Fakes()

    async def published() -> list[Seen]:
        return [Seen(p.payload.type_name(), p.flow.tenant_id, p.key_id, p.flow.correlation_id, p.flow.causation_id,
                     p.subject) for p in fakes.uow.published]

    return World(fakes.uow, fakes.files, published)


@pytest.fixture(params=["memory", pytest.param("mongodb", marks=pytest.mark.integration)])
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    if request.param == "memory":
        yield await memory_world()
        return
    from devstack.testing.services import Isolation

    infra = request.getfixturevalue("infra")
    isolation = Isolation.new()
    client: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url, tz_aware=True, type_registry=TYPE_REGISTRY)
    db = client[isolation.database("mailer")]
    outbox = Outbox(db, source="/services/mailer", topics=Topics(isolation.topic_prefix), clock=SystemClock())
    for repository in (MongoSendLedger(db), MongoSuppressions(db), MongoInboundRecords(db)):
        await repository.ensure_indexes()
    await outbox.ensure_indexes()

    async def published() -> list[Seen]:
        rows = await db.outbox.find({}).sort([("created_at", 1), ("seq", 1)]).to_list()
        envelopes = [envelope_of(row) for row in rows]
        return [Seen(e.type, e.tenant_id, e.partitionkey.split(":", 1)[1], e.correlation_id, e.causation_id,
                     e.subject) for e in envelopes]

    try:
        yield World(mongo_unit_of_work(client, db, outbox), MongoReplyFiles(db), published)
    finally:
        await client.drop_database(db.name)
        await client.close()


def a_send(n: int, *, tenant_id: str = "acme", at: datetime = T0, **request: object) -> Send:
    """A new ledger row of request n, recorded at `at`."""
    event = email_request(n, **request)  # type: ignore[arg-type]
    envelope = Envelope.wrap(event, tenant_id=tenant_id, key_id=event.client_id, source="/tests",
                             correlation_id=f"corr-{n}")
    return new_send(event, tenant_id=tenant_id, event_id=envelope.id, correlation_id=envelope.correlation_id,
                    envelope_json=envelope.model_dump_json(), now=at, inbound_domain="inbound.acme.example",
                    message_id_domain="inbound.acme.example")


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)
