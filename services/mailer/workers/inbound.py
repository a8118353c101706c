"""The inbound listener as a worker: serves SMTP (`adapters/smtp_in.py`) for as long as it runs."""

import asyncio

from services.mailer.adapters.metrics import MailerMetrics
from services.mailer.adapters.smtp_in import InboundHandler, start_listener
from services.mailer.config import MailerSettings
from services.mailer.handlers.inbound import Inbound


class InboundListener:
    """Serves SMTP on the configured port until cancelled."""

    def __init__(self, *, deps: Inbound, settings: MailerSettings, metrics: MailerMetrics) -> None:
        self.settings = settings
        self.handler = InboundHandler(deps=deps, settings=settings, metrics=metrics)

    async def run(self) -> None:
        """Listen until cancelled, then close the server."""
        server = await start_listener(self.handler, self.settings, self.settings.mail_inbound_domain)
        try:
            await asyncio.Event().wait()
        finally:
            server.close()
            await server.wait_closed()
