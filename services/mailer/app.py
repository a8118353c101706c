"""Composition root of the mailer service: builds the app from settings, on MongoDB, Kafka and SMTP by
default or on the adapters a test passes (then offline: no database, no broker, no workers)."""

import logging
import random
from datetime import timedelta

from fastapi import FastAPI

from services.mailer import api, subscribers
from services.mailer.adapters.attachments import HttpAttachments
from services.mailer.adapters.dead_letters import KafkaRequestDeadLetters
from services.mailer.adapters.inbound import MongoInboundRecords, MongoReplyFiles
from services.mailer.adapters.ledger import MongoSendLedger
from services.mailer.adapters.metrics import MailerMetrics
from services.mailer.adapters.smtp import SmtpConnection
from services.mailer.adapters.suppressions import MongoSuppressions
from services.mailer.adapters.unit_of_work import mongo_unit_of_work
from services.mailer.api.deps import ApiDeps
from services.mailer.api.files import FileDeps
from services.mailer.config import MailerSettings
from services.mailer.handlers.inbound import Inbound
from services.mailer.handlers.requests import MailDomains
from services.mailer.ports import Adapters
from services.mailer.workers.inbound import InboundListener
from services.mailer.workers.sender import Sender
from shared.contracts.email import EmailDelivered, EmailFailed, ReplyReceived
from shared.links import LinkKeys
from shared.platform.clock import Clock
from shared.platform.http import create_http_app
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import load_settings

log = logging.getLogger(__name__)

TITLE = "AR Follow-ups — mailer"


def create_app(settings: MailerSettings | None = None, *, clock: Clock | None = None,
               rng: random.Random | None = None, adapters: Adapters | None = None) -> FastAPI:
    """The mailer's HTTP app; its lifespan runs the consumer, the sender and the inbound listener."""
    settings = settings or load_settings(MailerSettings)
    runtime = ServiceRuntime(name="mailer", settings=settings, clock=clock, offline=adapters is not None)
    configured = settings.link_keys is not None and settings.link_keys.get_secret_value().strip()
    keys = settings.link_key_ring() if configured else None  # bad keys fail here, at start

    async def wire(runtime: ServiceRuntime, app: FastAPI) -> None:
        _wire(runtime, app, settings=settings, rng=rng, keys=keys, adapters=adapters or _mongo_adapters(runtime,
                                                                                                        settings))

    return create_http_app(runtime, title=TITLE, description="Renders and sends emails once, reports delivery, and "
                           "receives replies, bounces and unsubscribes.", routers=[api.router], wire=wire)


def _mongo_adapters(runtime: ServiceRuntime, settings: MailerSettings) -> Adapters:
    """MongoDB, the outbox, Kafka dead letters, aiosmtplib and httpx; their indexes once MongoDB answers."""
    assert runtime.mongo is not None
    for repository in (MongoSendLedger(runtime.db), MongoSuppressions(runtime.db), MongoInboundRecords(runtime.db)):
        runtime.on_database_ready(repository.ensure_indexes)
    return Adapters(
        uow=mongo_unit_of_work(runtime.mongo, runtime.db, runtime.outbox),
        files=MongoReplyFiles(runtime.db),
        dead_letters=KafkaRequestDeadLetters(publisher=runtime.publisher, topics=runtime.topics, db=runtime.db),
        connect=lambda: SmtpConnection(settings),
        attachments=lambda: HttpAttachments(max_bytes=settings.attachment_max_bytes,
                                            timeout_s=settings.attachment_timeout_s),
    )


def _wire(runtime: ServiceRuntime, app: FastAPI, *, settings: MailerSettings, rng: random.Random | None,
          keys: LinkKeys | None, adapters: Adapters) -> None:
    """Register this service's consumer, workers (sender, inbound listener) and API dependencies."""
    metrics = MailerMetrics(runtime.metrics)
    sender = Sender(adapters=adapters, settings=settings, clock=runtime.clock, owner=runtime.instance,
                    metrics=metrics, rng=rng)
    subscribers.subscribe(runtime, uow=adapters.uow, wake_sender=sender.notify,
                          domains=MailDomains(settings.mail_inbound_domain, settings.message_id_domain))
    runtime.add_worker(sender.run)
    if settings.mail_inbound_enabled:
        if keys is None:
            log.warning("ARF_LINK_KEYS is not set: replies by email are refused (bounces and unsubscribes work)")
        inbound = Inbound(uow=adapters.uow, files=adapters.files, clock=runtime.clock, keys=keys,
                          limits=settings.attachment_limits(),
                          claim_ttl=timedelta(seconds=settings.mail_inbound_claim_ttl_s),
                          public_base_url=settings.public_base_url)
        runtime.add_worker(InboundListener(deps=inbound, settings=settings, metrics=metrics).run)
    runtime.document_publications([EmailDelivered, EmailFailed, ReplyReceived])
    app.state.mailer = ApiDeps(uow=adapters.uow, clock=runtime.clock, wake_sender=sender.notify)
    app.state.inbound_files = FileDeps(files=adapters.files, keys=keys, clock=runtime.clock)
    app.state.sender = sender
