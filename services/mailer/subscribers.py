"""Which event goes to which handler: the mailer's one consumer group reads email requests."""

from collections.abc import Callable

from services.mailer.handlers.requests import MailDomains, on_email_requested
from services.mailer.ports import MailerTx
from shared.contracts.email import EmailRequested
from shared.platform.consumer import EventContext
from shared.platform.runtime import ServiceRuntime
from shared.ports import UnitOfWork

CONSUMER = "mailer"


def subscribe(runtime: ServiceRuntime, *, uow: UnitOfWork[MailerTx], domains: MailDomains,
              wake_sender: Callable[[str], None]) -> None:
    """Register the consumer of email requests."""

    async def email_requested(event: EmailRequested, ctx: EventContext) -> None:
        # Outside any transaction: the ledger's send id is what makes a redelivery a no-op, and the
        # handler publishes nothing (reports come from the sender, once the relay has answered).
        await on_email_requested(event, ctx.envelope, uow.reading(), now=runtime.clock.now(), domains=domains,
                                 wake_sender=wake_sender)

    runtime.event_router(CONSUMER).on(EmailRequested, email_requested, transactional=False)
