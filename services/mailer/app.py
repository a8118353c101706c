"""Composition root of the mailer service: builds the app from settings; tests pass overrides."""

import logging
import random
from functools import partial

from fastapi import FastAPI

from services.mailer import api
from services.mailer.adapters.dead_letters import RequestDeadLetters
from services.mailer.adapters.inbound import InboundRecords, ReplyFiles, ReplyRoutes
from services.mailer.adapters.ledger import SendLedger
from services.mailer.adapters.reports import DeliveryReports, ReplyReports
from services.mailer.adapters.smtp import SmtpConnection
from services.mailer.adapters.suppressions import Suppressions
from services.mailer.config import MailerSettings
from services.mailer.handlers import on_email_requested
from services.mailer.inbound import api as inbound_api
from services.mailer.inbound.handlers import InboundDeps
from services.mailer.inbound.listener import InboundListener
from services.mailer.metrics import MailerMetrics
from services.mailer.sender import Sender
from shared.contracts.email import EmailDelivered, EmailFailed, EmailRequested, ReplyReceived
from shared.links import LinkKeys
from shared.platform.clock import Clock
from shared.platform.http import create_http_app
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import load_settings

log = logging.getLogger(__name__)

TITLE = "AR Follow-ups — mailer"
CONSUMER = "mailer"


def create_app(
    settings: MailerSettings | None = None, *, clock: Clock | None = None, rng: random.Random | None = None
) -> FastAPI:
    settings = settings or load_settings(MailerSettings)
    runtime = ServiceRuntime(name="mailer", settings=settings, clock=clock)
    configured = settings.link_keys is not None and settings.link_keys.get_secret_value().strip()
    keys = settings.link_key_ring() if configured else None  # bad keys fail here, at start

    async def wire(runtime: ServiceRuntime, app: FastAPI) -> None:
        await _wire(runtime, app, settings=settings, rng=rng, keys=keys)

    return create_http_app(runtime, title=TITLE, description="Renders and sends emails once, reports delivery, and "
                           "receives replies, bounces and unsubscribes.",
                           routers=[api.router, inbound_api.router], wire=wire)


async def _wire(runtime: ServiceRuntime, app: FastAPI, *, settings: MailerSettings, rng: random.Random | None,
                keys: LinkKeys | None) -> None:
    """Register this service's consumer, workers (sender, inbound listener) and API dependencies."""
    assert runtime.mongo is not None
    ledger = SendLedger(runtime.db)
    suppressions = Suppressions(runtime.db)
    routes, records, files = ReplyRoutes(runtime.db), InboundRecords(runtime.db), ReplyFiles(runtime.db)
    metrics = MailerMetrics(runtime.metrics)
    runtime.on_database_ready(ledger.ensure_indexes)
    runtime.on_database_ready(suppressions.ensure_indexes)
    runtime.on_database_ready(records.ensure_indexes)
    sender = Sender(
        ledger=ledger, suppressions=suppressions, reports=DeliveryReports(runtime.outbox),
        dead_letters=RequestDeadLetters(publisher=runtime.publisher, topics=runtime.topics, db=runtime.db),
        mongo=runtime.mongo, settings=settings, clock=runtime.clock, owner=runtime.instance,
        metrics=metrics, connect=lambda: SmtpConnection(settings), rng=rng,
    )
    router = runtime.event_router(CONSUMER)
    # Not transactional: the ledger's unique idempotency key is what makes a redelivery a no-op.
    router.on(EmailRequested, partial(
        on_email_requested, ledger=ledger, routes=routes, clock=runtime.clock, inbound_domain=settings.mail_inbound_domain,
        message_id_domain=settings.message_id_domain, wake_sender=sender.notify,
    ), transactional=False)
    runtime.add_worker(sender.run)
    if settings.mail_inbound_enabled:
        if keys is None:
            log.warning("ARF_LINK_KEYS is not set: replies by email are refused (bounces and unsubscribes work)")
        deps = InboundDeps(ledger=ledger, suppressions=suppressions, routes=routes, records=records, files=files,
                           deliveries=DeliveryReports(runtime.outbox), replies=ReplyReports(runtime.outbox),
                           mongo=runtime.mongo, clock=runtime.clock, settings=settings, keys=keys)
        runtime.add_worker(InboundListener(deps=deps, metrics=metrics).run)
    runtime.document_publications([EmailDelivered, EmailFailed, ReplyReceived])
    app.state.mailer = api.ApiDeps(ledger=ledger, suppressions=suppressions, clock=runtime.clock)
    app.state.inbound_files = inbound_api.FileDeps(files=files, keys=keys, clock=runtime.clock)
    app.state.sender = sender
