"""What the mailer does with each message it consumes.

An email request is only written to the send ledger here (no SMTP, no transaction): the ledger's
unique idempotency key makes a redelivered or replayed request a no-op, and the sender worker
does the sending, so an SMTP outage never holds up the Kafka partition. An internal interactive
email whose Reply-To is a reply address also records that address's route (tenant, client,
action), which its token does not carry; the route is written first and is idempotent.
"""

from collections.abc import Callable

from services.mailer.adapters.inbound import ReplyRoute, ReplyRoutes
from services.mailer.adapters.ledger import SendLedger
from services.mailer.domain import new_send
from services.mailer.inbound.addresses import reply_address_token, token_key
from shared.contracts.email import EmailPurpose, EmailRequested
from shared.platform.clock import Clock
from shared.platform.consumer import EventContext


async def on_email_requested(
    event: EmailRequested,
    ctx: EventContext,
    *,
    ledger: SendLedger,
    routes: ReplyRoutes,
    clock: Clock,
    inbound_domain: str,
    message_id_domain: str,
    wake_sender: Callable[[str], None],
) -> None:
    envelope = ctx.envelope
    send = new_send(
        event, tenant_id=envelope.tenant_id, event_id=envelope.id, correlation_id=envelope.correlation_id,
        envelope_json=envelope.model_dump_json(), now=clock.now(), inbound_domain=inbound_domain,
        message_id_domain=message_id_domain,
    )
    token = reply_address_token(event.reply_to, inbound_domain)
    if token is not None and event.purpose is EmailPurpose.INTERNAL_INTERACTIVE:
        await routes.record(ReplyRoute(
            key=token_key(token), tenant_id=send.tenant_id, client_id=event.client_id, action_id=event.action_id,
            send_id=send.send_id, request_event_id=envelope.id, correlation_id=envelope.correlation_id,
            created_at=send.created_at,
        ))
    if await ledger.add(send):
        wake_sender(send.send_id)
