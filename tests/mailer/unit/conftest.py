"""The mailer offline: `create_app(adapters=fakes)` in its lifespan, its HTTP API over ASGITransport, its
consumer fed through the offline router, its sender worker running against a fake relay, and its
inbound SMTP hooks called directly. No broker, no database, no network."""

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from fastapi import FastAPI

from services.mailer.adapters.metrics import MailerMetrics
from services.mailer.adapters.smtp_in import InboundHandler
from services.mailer.app import create_app
from services.mailer.config import MailerSettings
from services.mailer.domain.compose import SenderIdentity
from services.mailer.domain.sends import Send
from services.mailer.handlers.inbound import Inbound
from shared.contracts.email import EmailRequested
from shared.contracts.envelope import Envelope
from shared.links import LinkKeys, new_link_key_setting
from shared.platform.metrics import Metrics
from tests.mailer.fakes import Fakes
from tests.support.memory import Published

TENANT = "acme"
INBOUND_DOMAIN = "inbound.acme.example"
LINK_KEYS = new_link_key_setting("k1")
PUBLIC_URL = "http://localhost:8000"


def offline_settings(public_key: Path, **overrides: Any) -> MailerSettings:
    """Fast retries, so failure rules play out in milliseconds."""
    values: dict[str, Any] = {
        "auth_public_key_file": public_key,
        "send_retry_initial_s": 0.01,
        "send_retry_max_s": 0.05,
        "send_retry_max_attempts": 3,
        "sender_poll_interval_s": 0.02,
        "sender_flush_interval_s": 0.005,
        "smtp_reconnect_initial_s": 0.01,
        "smtp_reconnect_max_s": 0.05,
        "mail_inbound_domain": INBOUND_DOMAIN,
        "mail_inbound_enabled": False,
        "link_keys": LINK_KEYS,
        "public_base_url": PUBLIC_URL,
        "mail_senders": {TENANT: SenderIdentity(from_address="ar@acme.example", reply_to="credit@acme.example")},
        **overrides,
    }
    return MailerSettings(**values)


async def eventually(probe: Callable[[], Any], *, timeout_s: float = 5.0) -> Any:
    """The probe's first truthy answer, asked every few milliseconds."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not within the time allowed")
        await asyncio.sleep(0.005)


@dataclass
class OfflineMailer:
    app: FastAPI
    fakes: Fakes
    settings: MailerSettings
    token_for: Callable[..., str]
    keys: LinkKeys

    def http(self, role: str = "admin", tenant: str = TENANT) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://mailer",
                                 headers={"Authorization": f"Bearer {self.token_for(tenant_id=tenant, role=role)}"})

    async def publish(self, requests: Sequence[EmailRequested], *, tenant_id: str = TENANT,
                      again: Sequence[Envelope] = ()) -> list[Envelope]:
        """Deliver email requests to the mailer's consumer, as the broker would."""
        envelopes = [Envelope.wrap(r, tenant_id=tenant_id, key_id=r.client_id, source="/tests") for r in requests]
        [router] = self.app.state.runtime.routers
        for envelope in [*envelopes, *again]:
            await router.deliver(envelope)
        return envelopes

    async def reports(self, request_id: str, count: int = 1) -> list[Published]:
        """The delivery reports of a request, once there are `count` of them."""
        return await eventually(lambda: (found := self.fakes.reports(request_id)) and len(found) >= count and found)

    async def send_when(self, request_id: str, until: Callable[[Send], bool]) -> Send:
        def probe() -> Send | None:
            sends = [row.send for row in self.fakes.state.sends.values() if row.send.request_id == request_id]
            return sends[0] if sends and until(sends[0]) else None

        return await eventually(probe)

    def inbound(self) -> InboundHandler:
        """The inbound listener's SMTP hooks, on the fakes."""
        deps = Inbound(uow=self.fakes.uow, files=self.fakes.files, clock=self.app.state.runtime.clock, keys=self.keys,
                       limits=self.settings.attachment_limits(),
                       claim_ttl=timedelta(seconds=self.settings.mail_inbound_claim_ttl_s),
                       public_base_url=self.settings.public_base_url)
        return InboundHandler(deps=deps, settings=self.settings, metrics=MailerMetrics(Metrics("mailer")))

    async def smtp(self, message: EmailMessage | bytes, *, sender: str, recipients: list[str]) -> list[str]:
        """One SMTP transaction to the inbound listener: the reply to each RCPT, then to DATA."""
        handler, envelope = self.inbound(), SmtpEnvelope()
        envelope.mail_from = sender
        answers = [await handler.handle_RCPT(None, None, envelope, address, []) for address in recipients]  # type: ignore[arg-type]
        if envelope.rcpt_tos:
            envelope.original_content = message if isinstance(message, bytes) else message.as_bytes()
            answers.append(await handler.handle_DATA(None, None, envelope))  # type: ignore[arg-type]
        return answers


@pytest.fixture
async def mailer(public_key: Path, token_for: Callable[..., str]) -> AsyncIterator[OfflineMailer]:
    fakes = Fakes()
    settings = offline_settings(public_key)
    app = create_app(settings, adapters=fakes.adapters)
    async with app.router.lifespan_context(app):
        sender = asyncio.create_task(app.state.sender.run())
        try:
            yield OfflineMailer(app, fakes, settings, token_for, LinkKeys.parse(LINK_KEYS))
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
