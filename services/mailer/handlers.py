"""What the mailer does with each message it consumes.

An email request is only written to the send ledger here (no SMTP, no transaction): the ledger's
unique idempotency key makes a redelivered or replayed request a no-op, and the sender worker
does the sending, so an SMTP outage never holds up the Kafka partition.
"""

from collections.abc import Callable

from services.mailer.adapters.ledger import SendLedger
from services.mailer.domain import new_send
from shared.contracts.email import EmailRequested
from shared.platform.clock import Clock
from shared.platform.consumer import EventContext


async def on_email_requested(
    event: EmailRequested,
    ctx: EventContext,
    *,
    ledger: SendLedger,
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
    if await ledger.add(send):
        wake_sender(send.send_id)
