"""A colleague's reply to an interactive email (from the mailer's inbound listener): a comment on the action by
the colleague, with its attachments fetched from their claim-check URLs (size and type checked) and stored as
documents of the action; an out-of-office reply proposes, or makes, a reschedule to the return date.

Refused, with the reason logged and noted, nothing attached: a reply through a revoked link or to an action
no longer open. The route is not transactional (fetching over HTTP and GridFS cannot sit inside a
transaction): the reply id, recorded in the same transaction as its effects, makes a redelivery change nothing.
"""

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from shared.contracts.email import AttachmentRef, ReplyKind, ReplyReceived
from shared.contracts.values import SYSTEM, Actor, ActorKind
from shared.contracts.envelope import Envelope
from shared.ports import Flow
from services.followups.domain import actions as act
from services.followups.domain.actions import Action
from services.followups.domain.errors import FollowupsError
from services.followups.domain.history import EntryKind
from services.followups.domain.inbound import out_of_office_date, reply_refusal, return_date_note
from services.followups.handlers.changes import Changes
from services.followups.handlers.context import Deps
from services.followups.handlers.documents import safe_filename
from services.followups.ports import AlreadyRecorded, StoredFile, Tx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fetched:
    ref: AttachmentRef
    attachment_id: str
    filename: str
    stored: StoredFile


async def on_reply_received(event: ReplyReceived, envelope: Envelope, *, deps: Deps) -> None:
    """Not in the consumer's transaction: each outcome is a unit of work of its own, recording the reply id."""
    tenant, store = envelope.tenant_id, deps.read
    if await store.replies.seen(tenant, event.reply_id):
        return
    action = await store.actions.get(tenant, event.action_id)
    if action is None or action.client_id != event.client_id:
        log.info("reply %s for unknown action %s of %s skipped", event.reply_id, event.action_id, tenant)
        return
    link = await store.links.get(tenant, event.link_id) if event.link_id else None
    correlation_id = envelope.correlation_id
    if event.link_id and link is None:
        await _refuse(event, action, "the reply address names no link of this tenant", tenant=tenant,
                      correlation_id=correlation_id, deps=deps)
        return
    sender_links = [] if link else await store.links.of_action(tenant, action.action_id, recipient=event.from_email)
    refusal = reply_refusal(action=action, link=link, sender_links=sender_links, sender=event.from_email)
    if refusal:
        await _refuse(event, action, refusal, tenant=tenant, correlation_id=correlation_id, deps=deps)
        return
    if event.kind == ReplyKind.AUTO_REPLY:
        await _auto_reply(event, action, tenant=tenant, correlation_id=correlation_id, deps=deps)
        return
    fetched, refused = await _fetch_all(event, tenant, deps=deps)
    written = False
    try:
        written = await _comment(event, action, fetched, refused, tenant=tenant, correlation_id=correlation_id,
                                 deps=deps)
    finally:
        if not written:
            for item in fetched:  # nothing half-written: no record, no bytes
                await deps.adapters.files.discard(item.stored.file_id)


async def _comment(event: ReplyReceived, action: Action, fetched: list[Fetched], refused: list[dict[str, str]], *,
                   tenant: str, correlation_id: str | None, deps: Deps) -> bool:
    actor = Actor(kind=ActorKind.COLLEAGUE, email=event.from_email)
    base = {"via": "email_reply", "reply_id": event.reply_id, "link_id": event.link_id}

    async def work(tx: Tx) -> None:
        await _record_reply(tx, tenant, event, state="accepted")
        changes = Changes(tenant_id=tenant, actor=actor, now=event.received_at)
        current = await tx.actions.get(tenant, action.action_id)
        assert current is not None
        current.require_open()
        changes.note(act.note(current, EntryKind.COMMENT_ADDED, actor=actor, now=event.received_at, text=event.text,
                              data={**base, "attachment_ids": [f.attachment_id for f in fetched],
                                    "refused_attachments": refused}))
        for item in fetched:
            record = {"attachment_id": item.attachment_id, "action_id": current.action_id, "filename": item.filename,
                      "content_type": item.stored.content_type, "size": item.stored.size,
                      "uploaded_at": event.received_at, "uploaded_by": actor.model_dump(),
                      "file_id": item.stored.file_id, "client_id": current.client_id, "reply_id": event.reply_id}
            await tx.attachments.record(tenant, record)
            changes.note(act.note(current, EntryKind.ATTACHMENT_ADDED, actor=actor, now=event.received_at, data={
                "attachment_id": item.attachment_id, "filename": item.filename,
                "content_type": item.stored.content_type, "size": item.stored.size, **base}))
        await changes.save(tx)

    return await _once(work, tenant, correlation_id, deps=deps)


async def _auto_reply(event: ReplyReceived, action: Action, *, tenant: str, correlation_id: str | None,
                      deps: Deps) -> None:
    """Not a comment: noted; a return date after the action's next step proposes (or makes) a reschedule."""
    actor = Actor(kind=ActorKind.COLLEAGUE, email=event.from_email)

    async def work(tx: Tx) -> None:
        await _record_reply(tx, tenant, event, state="auto_reply")
        settings = await tx.tenants.settings(tenant)
        current = await tx.actions.get(tenant, action.action_id)
        assert current is not None
        changes = Changes(tenant_id=tenant, actor=actor, now=event.received_at)
        data = {"reply_id": event.reply_id, "kind": event.kind.value, "link_id": event.link_id,
                "return_date": event.return_date.isoformat() if event.return_date else None,
                "return_date_note": return_date_note(event.return_date, received=event.received_at.date())}
        changes.note(act.note(current, EntryKind.REPLY_RECEIVED, actor=actor, now=event.received_at,
                              text=event.text, data=data))
        moved_to = out_of_office_date(current, event.return_date, today=deps.clock.today())
        if moved_to is not None and settings.reschedule_on_out_of_office:
            reason = f"{event.from_email} is out of office until {moved_to.isoformat()}"
            changed = act.reschedule(current, moved_to, today=deps.clock.today(), actor=SYSTEM, now=event.received_at)
            if changed is not None:
                changes.changed(act.Changed(changed.action, changed.event, changed.entry.model_copy(
                    update={"text": reason, "data": {"reply_id": event.reply_id}})))
        elif moved_to is not None:
            changes.note(act.note(current, EntryKind.RESCHEDULE_PROPOSED, actor=SYSTEM, now=event.received_at,
                                  before={"scheduled_for": current.scheduled_for},
                                  after={"scheduled_for": moved_to}, data={"reply_id": event.reply_id},
                                  text=f"{event.from_email} is out of office until {moved_to.isoformat()}"))
        await changes.save(tx)

    await _once(work, tenant, correlation_id, deps=deps)


async def _refuse(event: ReplyReceived, action: Action, reason: str, *, tenant: str, correlation_id: str | None,
                  deps: Deps) -> None:
    log.warning("reply %s from %s to action %s refused: %s", event.reply_id, event.from_email, action.action_id,
                reason)

    async def work(tx: Tx) -> None:
        await _record_reply(tx, tenant, event, state="refused", reason=reason)
        entry = act.note(action, EntryKind.REPLY_REFUSED, actor=SYSTEM, now=event.received_at, text=reason, data={
            "reply_id": event.reply_id, "from_email": event.from_email, "link_id": event.link_id,
            "attachments_ignored": len(event.attachments)})
        await tx.history.add(tenant, [entry])

    await _once(work, tenant, correlation_id, deps=deps)


async def _fetch_all(event: ReplyReceived, tenant: str, *, deps: Deps) -> tuple[list[Fetched], list[dict[str, str]]]:
    """Each attachment by its claim check; one that is too large, of a refused type or unreachable is left out
    (and named), the others are kept."""
    fetched: list[Fetched] = []
    refused: list[dict[str, str]] = []
    limit = deps.settings.attachment_max_bytes
    for position, ref in enumerate(event.attachments):
        name = safe_filename(ref.filename)
        try:
            content = await deps.adapters.fetcher.fetch(ref, limit=limit,
                                                        timeout_s=deps.settings.reply_attachment_timeout_s)
            stored = await deps.adapters.files.store(
                tenant_id=tenant, filename=name, declared_type=ref.content_type, read=_reader(content),
                max_bytes=limit, allowed=frozenset(deps.settings.attachment_types), now=event.received_at)
        except FollowupsError as exc:
            log.warning("attachment %r of reply %s left out: %s", name, event.reply_id, exc.message)
            refused.append({"filename": name, "reason": exc.message})
            continue
        fetched.append(Fetched(ref, _attachment_id(event.reply_id, position), name, stored))
    return fetched, refused


def _reader(content: bytes) -> Any:
    position = 0

    async def read(size: int) -> bytes:
        nonlocal position
        chunk = content[position:position + size]
        position += len(chunk)
        return chunk
    return read


def _attachment_id(reply_id: str, position: int) -> str:
    return hashlib.sha256(f"{reply_id}:{position}".encode()).hexdigest()[:24]


async def _record_reply(tx: Tx, tenant: str, event: ReplyReceived, *, state: str, reason: str | None = None
                        ) -> None:
    await tx.replies.add(tenant, {"reply_id": event.reply_id, "action_id": event.action_id,
                                          "link_id": event.link_id, "from_email": event.from_email,
                                          "kind": event.kind.value, "state": state, "reason": reason,
                                          "received_at": event.received_at})


async def _once(work: Any, tenant: str, correlation_id: str | None, *, deps: Deps) -> bool:
    """Run the reply's transaction; False when the reply was recorded meanwhile (a concurrent redelivery)."""
    try:
        await deps.uow.run(work, flow=Flow(tenant, correlation_id))
    except AlreadyRecorded:
        log.info("reply already handled: nothing more to do")
        return False
    return True
