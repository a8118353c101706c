"""Events from the other services, into the histories: what the mailer did with our emails (action history; a
hard bounce on a client's contact flags the contact), and what dunning did for a client (client history).
Colleagues' replies are in replies.py.

Each runs in the transaction that records the event id as handled (`tx`), so a redelivery adds nothing twice.
An event about an action or client this tenant does not have is skipped: there is nothing to record.
"""

import logging
from datetime import datetime
from typing import Any

from shared.contracts.dunning import DunningStepRecorded
from shared.contracts.email import EmailDelivered, EmailFailed
from shared.contracts.values import SYSTEM, Actor
from shared.contracts.envelope import Envelope
from services.followups.domain import actions as act
from services.followups.domain.history import EntryKind, HistoryEntry
from services.followups.domain.inbound import flag_bounced, is_hard_bounce
from services.followups.handlers.context import user_refs
from services.followups.ports import Tx

log = logging.getLogger(__name__)


async def on_email_delivered(event: EmailDelivered, envelope: Envelope, tx: Tx) -> None:
    data = {"request_id": event.request_id, "purpose": event.purpose.value, "recipients": event.recipients,
            "message_id": event.message_id}
    await _email_outcome(envelope, tx, request_id=event.request_id, action_id=event.action_id,
                         client_id=event.client_id, kind=EntryKind.EMAIL_DELIVERED, at=event.delivered_at, data=data)


async def on_email_failed(event: EmailFailed, envelope: Envelope, tx: Tx) -> None:
    data: dict[str, Any] = {"request_id": event.request_id, "purpose": event.purpose.value,
                            "recipients": event.recipients, "kind": event.kind.value, "reason": event.reason,
                            "smtp_code": event.smtp_code}
    if is_hard_bounce(event):
        data |= await _flag_bounced_contacts(event, envelope, tx)
    await _email_outcome(envelope, tx, request_id=event.request_id, action_id=event.action_id,
                         client_id=event.client_id, kind=EntryKind.EMAIL_FAILED, at=event.failed_at, data=data)


async def _email_outcome(envelope: Envelope, tx: Tx, *, request_id: str, action_id: str | None, client_id: str,
                         kind: EntryKind, at: datetime, data: dict[str, Any]) -> None:
    tenant = envelope.tenant_id
    if await tx.emails.get(tenant, request_id):
        state = "delivered" if kind == EntryKind.EMAIL_DELIVERED else "failed"
        await tx.emails.record_outcome(tenant, request_id, state=state, at=at, details=data)
    await _record(envelope, tx, action_id=action_id, client_id=client_id, kind=kind, at=at, actor=SYSTEM,
                  data=data)


async def _flag_bounced_contacts(event: EmailFailed, envelope: Envelope, tx: Tx) -> dict[str, Any]:
    """A hard bounce on a client's contact flags it (ClientUpserted, client history), saying whether the client
    has another contact with an address to write to."""
    tenant = envelope.tenant_id
    client = await tx.clients.get(tenant, event.client_id)
    if client is None:
        return {}
    flagged, usable = flag_bounced(client, event.recipients, now=event.failed_at)
    bounced = [c.email for c in client.contacts if c.email and c.email.lower() in {r.lower() for r in event.recipients}]
    if not bounced:
        return {}
    found = {"bounced_contacts": bounced, "other_contacts": usable}
    if flagged is None:
        return found  # flagged before: nothing new to publish
    await tx.clients.save_all(tenant, [flagged], created=set())
    people = await user_refs(tenant, [p for p in (flagged.collector_id, flagged.sales_manager_id) if p], tx=tx)
    await tx.events.client_upserted(flagged.upserted_event(collector=people.get(flagged.collector_id or ""),
                                                           sales_manager=people.get(flagged.sales_manager_id or "")))
    text = (f"{', '.join(bounced)} bounced: the contact is flagged; "
            + (f"other contact(s) with an address: {', '.join(usable)}" if usable
               else "the client has no other contact with an address"))
    await tx.history.add(tenant, [HistoryEntry(
        client_id=client.client_id, client_level=True, kind=EntryKind.CONTACT_BOUNCED, at=event.failed_at,
        actor=SYSTEM, text=text, data={**found, "request_id": event.request_id, "reason": event.reason})])
    return found


async def on_dunning_step(event: DunningStepRecorded, envelope: Envelope, tx: Tx) -> None:
    """Why a reminder went, or did not: in the client's history."""
    tenant = envelope.tenant_id
    if await tx.clients.get(tenant, event.client_id) is None:
        log.info("dunning step for unknown client %s of %s skipped", event.client_id, tenant)
        return
    entry = HistoryEntry(client_id=event.client_id, client_level=True, kind=EntryKind.DUNNING_STEP,
                         at=envelope.time, actor=SYSTEM, text=event.reason,
                         data=event.model_dump(mode="json", exclude={"client_id"}))
    await tx.history.add(tenant, [entry])


async def _record(envelope: Envelope, tx: Tx, *, action_id: str | None, client_id: str, kind: EntryKind,
                  at: datetime, actor: Actor, data: dict[str, Any], text: str | None = None) -> None:
    tenant = envelope.tenant_id
    action = await tx.actions.get(tenant, action_id) if action_id else None
    if action is not None:
        entry = act.note(action, kind, actor=actor, now=at, data=data, text=text)
    elif await tx.clients.get(tenant, client_id) is not None:
        entry = HistoryEntry(client_id=client_id, client_level=True, kind=kind, at=at, actor=actor, data=data,
                             text=text)
    else:
        log.info("%s for unknown action %s / client %s of %s skipped", kind, action_id, client_id, tenant)
        return
    await tx.history.add(tenant, [entry])
