"""An email request, consumed: written to the send ledger, nothing more.

No SMTP, no transaction: the ledger's send id (derived from the idempotency key) makes a redelivered
or replayed request a no-op, and the sender worker does the sending, so an SMTP outage never holds
up the Kafka partition. An internal interactive email whose Reply-To is a reply address also
records that address's route (tenant, client, action), which its token does not carry; the route is
written first and is idempotent.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.mailer.domain.inbound.addresses import reply_address_token, token_key
from services.mailer.domain.inbound.mail import ReplyRoute
from services.mailer.domain.sends import new_send
from services.mailer.ports import MailerTx
from shared.contracts.email import EmailPurpose, EmailRequested
from shared.contracts.envelope import Envelope


@dataclass(frozen=True)
class MailDomains:
    """The inbound domain (bounce, unsubscribe and reply addresses) and the Message-IDs' domain."""

    inbound: str
    message_id: str


async def on_email_requested(event: EmailRequested, envelope: Envelope, tx: MailerTx, *, now: datetime,
                             domains: MailDomains, wake_sender: Callable[[str], None]) -> None:
    """Record the request (pending, due now) and wake the sender; a request already recorded does nothing."""
    send = new_send(
        event, tenant_id=envelope.tenant_id, event_id=envelope.id, correlation_id=envelope.correlation_id,
        envelope_json=envelope.model_dump_json(), now=now, inbound_domain=domains.inbound,
        message_id_domain=domains.message_id,
    )
    token = reply_address_token(event.reply_to, domains.inbound)
    if token is not None and event.purpose is EmailPurpose.INTERNAL_INTERACTIVE:
        await tx.routes.record(ReplyRoute(
            key=token_key(token), tenant_id=send.tenant_id, client_id=event.client_id, action_id=event.action_id,
            send_id=send.send_id, request_event_id=envelope.id, correlation_id=envelope.correlation_id,
            created_at=send.created_at,
        ))
    if await tx.sends.add(send):
        wake_sender(send.send_id)
