"""Events from the other services, into the histories: what the mailer did with our emails and the replies
colleagues sent (action history), and what dunning did for a client (client history).

Each runs in the transaction that records the event id as handled, so a redelivery adds nothing twice.
An event about an action or client this tenant does not have is skipped: there is nothing to record.
"""

import logging
from datetime import datetime
from typing import Any

from shared.contracts.dunning import DunningStepRecorded
from shared.contracts.email import EmailDelivered, EmailFailed, ReplyReceived
from shared.contracts.values import SYSTEM, Actor, ActorKind
from shared.platform.consumer import EventContext
from services.followups.domain import actions as act
from services.followups.domain.history import EntryKind, HistoryEntry
from services.followups.handlers.context import Deps

log = logging.getLogger(__name__)


async def on_email_delivered(event: EmailDelivered, ctx: EventContext, *, deps: Deps) -> None:
    data = {"request_id": event.request_id, "purpose": event.purpose.value, "recipients": event.recipients,
            "message_id": event.message_id}
    await _email_outcome(ctx, deps=deps, request_id=event.request_id, action_id=event.action_id,
                         client_id=event.client_id, kind=EntryKind.EMAIL_DELIVERED, at=event.delivered_at, data=data)


async def on_email_failed(event: EmailFailed, ctx: EventContext, *, deps: Deps) -> None:
    data = {"request_id": event.request_id, "purpose": event.purpose.value, "recipients": event.recipients,
            "kind": event.kind.value, "reason": event.reason, "smtp_code": event.smtp_code}
    await _email_outcome(ctx, deps=deps, request_id=event.request_id, action_id=event.action_id,
                         client_id=event.client_id, kind=EntryKind.EMAIL_FAILED, at=event.failed_at, data=data)


async def _email_outcome(ctx: EventContext, *, deps: Deps, request_id: str, action_id: str | None, client_id: str,
                         kind: EntryKind, at: datetime, data: dict[str, Any]) -> None:
    tenant, store = ctx.envelope.tenant_id, deps.store
    if await store.emails.get(tenant, request_id, session=ctx.session):
        state = "delivered" if kind == EntryKind.EMAIL_DELIVERED else "failed"
        await store.emails.record_outcome(tenant, request_id, state=state, at=at, details=data, session=ctx.session)
    await _record(ctx, deps=deps, action_id=action_id, client_id=client_id, kind=kind, at=at, actor=SYSTEM,
                  data=data)


async def on_reply_received(event: ReplyReceived, ctx: EventContext, *, deps: Deps) -> None:
    """A colleague's answer to an internal interactive email, attributed to their address."""
    actor = Actor(kind=ActorKind.COLLEAGUE, email=event.from_email)
    data = {"reply_id": event.reply_id, "kind": event.kind.value,
            "attachments": [ref.model_dump(mode="json") for ref in event.attachments],
            "return_date": event.return_date.isoformat() if event.return_date else None}
    await _record(ctx, deps=deps, action_id=event.action_id, client_id=event.client_id,
                  kind=EntryKind.REPLY_RECEIVED, at=event.received_at, actor=actor, data=data, text=event.text)


async def on_dunning_step(event: DunningStepRecorded, ctx: EventContext, *, deps: Deps) -> None:
    """Why a reminder went, or did not: in the client's history."""
    tenant = ctx.envelope.tenant_id
    if await deps.store.clients.get(tenant, event.client_id, session=ctx.session) is None:
        log.info("dunning step for unknown client %s of %s skipped", event.client_id, tenant)
        return
    entry = HistoryEntry(client_id=event.client_id, client_level=True, kind=EntryKind.DUNNING_STEP,
                         at=ctx.envelope.time, actor=SYSTEM, text=event.reason,
                         data=event.model_dump(mode="json", exclude={"client_id"}))
    await deps.store.history.add(tenant, [entry], session=ctx.session)


async def _record(ctx: EventContext, *, deps: Deps, action_id: str | None, client_id: str, kind: EntryKind,
                  at: datetime, actor: Actor, data: dict[str, Any], text: str | None = None) -> None:
    tenant, store = ctx.envelope.tenant_id, deps.store
    action = await store.actions.get(tenant, action_id, session=ctx.session) if action_id else None
    if action is not None:
        entry = act.note(action, kind, actor=actor, now=at, data=data, text=text)
    elif await store.clients.get(tenant, client_id, session=ctx.session) is not None:
        entry = HistoryEntry(client_id=client_id, client_level=True, kind=kind, at=at, actor=actor, data=data,
                             text=text)
    else:
        log.info("%s for unknown action %s / client %s of %s skipped", kind, action_id, client_id, tenant)
        return
    await store.history.add(tenant, [entry], session=ctx.session)
