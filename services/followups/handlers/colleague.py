"""A colleague acting from an interactive link: open it (verified, recorded, not revoked), and comment, upload a
document or set a status within what it grants. Every change is attributed to the colleague, by the address
the link was issued to; the tenant comes from the verified link only.

A POST is accepted only under the link's rate limit, with a form token bound to the link, once (a replayed
form changes nothing), and while the link is active (its action still open)."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.contracts.values import ActorKind, ItemSnapshot
from shared.links import (
    LinkGrant,
    LinkOperation,
    LinkRejected,
    is_full_link,
    read_short_link,
    verify_link,
    verify_short_link,
)
from shared.ports import Flow
from shared.signing import RejectionReason, refuse_expired
from services.followups.domain import actions as act
from services.followups.domain.actions import Action
from services.followups.domain.errors import Invalid
from services.followups.domain.history import EntryKind
from services.followups.domain.items import check_selection
from services.followups.domain.links import FormRejected, LinkRecord, LinkState, check_form_token, link_state
from services.followups.domain.parties import Client
from services.followups.domain.wizard import FollowScenario, check_plan
from services.followups.handlers import actions as commands
from services.followups.handlers.changes import Changes
from services.followups.handlers.context import Caller, Deps, link_keys_of, status_for
from services.followups.handlers.documents import attach_document
from services.followups.handlers.selection import holders_of
from services.followups.ports import Tx

log = logging.getLogger(__name__)


class LinkRefused(Exception):
    """The link (or this use of it) is refused; `reason` picks the page the colleague sees."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"link refused: {reason}")


@dataclass(frozen=True)
class OpenedLink:
    grant: LinkGrant
    record: LinkRecord
    client: Client
    action: Action | None
    items: list[ItemSnapshot]  # shown: the link's items, or the action's (now, and when the link was issued)
    state: LinkState

    @property
    def actionable(self) -> list[ItemSnapshot]:
        """Open items a status change may touch: still in the action (a resolved one has left it)."""
        held = set(self.action.item_ids) if self.action is not None else None
        return [item for item in self.items if not item.closed and (held is None or item.item_id in held)]

    @property
    def tenant_id(self) -> str:
        return self.grant.tenant_id

    def colleague(self, correlation_id: str | None = None) -> Caller:
        return Caller(tenant_id=self.tenant_id, user_id=f"link:{self.record.link_id}", email=self.record.recipient,
                      kind=ActorKind.COLLEAGUE, correlation_id=correlation_id)

    def can(self, operation: LinkOperation) -> bool:
        return self.state == LinkState.ACTIVE and self.grant.allows(operation)


async def open_link(token: str, *, deps: Deps) -> OpenedLink:
    """The verified link with the case it shows; LinkRefused (never any data) when it cannot be used."""
    try:
        grant, record = await _verified(token, deps)
    except LinkRejected as exc:
        raise LinkRefused(exc.reason.value) from None
    if record is None:
        raise LinkRefused("unknown")
    if not record.grants(grant):
        raise LinkRefused("forged")
    tenant, store = grant.tenant_id, deps.read
    if record.revoked:
        raise LinkRefused("revoked")
    action = await store.actions.get(tenant, record.action_id) if record.action_id else None
    client = await store.clients.get(tenant, record.client_id)
    if client is None or (record.action_id and action is None):
        raise LinkRefused("unknown")
    wanted = record.item_ids or list(dict.fromkeys([*(action.item_ids if action else []), *record.issued_item_ids]))
    found = await store.items.by_ids(tenant, wanted)
    items = [found[item_id] for item_id in wanted if item_id in found and found[item_id].client_id == client.client_id]
    state = link_state(record, action_state=action.state if action else None,
                       open_items=sum(not item.closed for item in items))
    return OpenedLink(grant=grant, record=record, client=client, action=action, items=items, state=state)


async def _verified(token: str, deps: Deps) -> tuple[LinkGrant, LinkRecord | None]:
    """The grant and record of a short token (scope kept here), or of a first-format one (scope in it)."""
    keys, now = link_keys_of(deps), deps.clock.now()
    if is_full_link(token):
        grant = verify_link(token, keys, now=now)
        return grant, await deps.read.links.get(grant.tenant_id, grant.link_id)
    short = read_short_link(token)
    tenant_id = await deps.read.links.tenant_of(short.link_id)
    if tenant_id is None:
        raise LinkRejected(RejectionReason.FORGED)  # an unknown id says nothing more than a wrong MAC
    verify_short_link(short, keys, tenant_id=tenant_id)
    record = await deps.read.links.get(tenant_id, short.link_id)
    if record is None:
        raise LinkRejected(RejectionReason.FORGED)
    refuse_expired(record.expires_at, now)
    return record.grant(tenant_id), record


async def accept_post(opened: OpenedLink, form_token: str | None, operation: LinkOperation, *, deps: Deps) -> None:
    """The gate of every change: rate limit, form token bound to the link, link active, operation granted, once."""
    store, now, record = deps.read, deps.clock.now(), opened.record
    if await store.links.count_post(opened.tenant_id, record.link_id, at=now) > deps.settings.link_posts_per_minute:
        raise LinkRefused("rate_limited")
    try:
        nonce = check_form_token(form_token, link_keys_of(deps), tenant_id=opened.tenant_id, link_id=record.link_id,
                                 now=now, max_age=timedelta(hours=deps.settings.link_form_hours))
    except FormRejected as exc:
        log.warning("form refused on link %s of %s: %s", record.link_id, opened.tenant_id, exc.reason)
        raise LinkRefused("form") from None
    if opened.state != LinkState.ACTIVE:
        raise LinkRefused("read_only")
    if not opened.grant.allows(operation):
        raise LinkRefused("not_granted")
    if not await store.links.use_form(opened.tenant_id, record.link_id, nonce, at=now):
        raise LinkRefused("replayed")


async def comment(opened: OpenedLink, text: str, *, caller: Caller, deps: Deps) -> None:
    """On an action: a comment in its history. On a selection: a comment on its items (their history)."""
    data = {"via": "link", "link_id": opened.record.link_id}
    if opened.action is not None:
        async def note(action: Action, changes: Changes, tx: Tx) -> None:
            action.require_open()
            changes.note(act.note(action, EntryKind.COMMENT_ADDED, actor=changes.actor, now=changes.now, text=text,
                                  data=data))
        await commands.operate(opened.action.action_id, note, caller=caller, deps=deps)
        return
    await _on_selection(opened, [item.item_id for item in opened.items if not item.closed], None, text,
                        caller=caller, deps=deps)


def check_status_choice(opened: OpenedLink, status_code: str, item_ids: list[str]) -> list[ItemSnapshot]:
    """The status is one the link offers and the items are open items of its scope."""
    if status_code not in opened.grant.statuses:
        raise LinkRefused("not_granted")
    in_scope = {item.item_id: item for item in opened.actionable}
    if not item_ids:
        raise Invalid("choose at least one item", code="no_items")
    outside = [item_id for item_id in item_ids if item_id not in in_scope]
    if outside:
        raise LinkRefused("not_granted")
    return [in_scope[item_id] for item_id in item_ids]


async def set_status(opened: OpenedLink, status_code: str, item_ids: list[str], text: str | None, *,
                     caller: Caller, deps: Deps) -> None:
    check_status_choice(opened, status_code, item_ids)
    if opened.action is not None:
        operation = commands.update_item_status(status_code, text, item_ids, caller=caller, deps=deps)
        await commands.operate(opened.action.action_id, operation, caller=caller, deps=deps)
        return
    await _on_selection(opened, item_ids, status_code, text, caller=caller, deps=deps)


async def upload(opened: OpenedLink, *, filename: str | None, content_type: str,
                 read: Callable[[int], Awaitable[bytes]], caller: Caller, deps: Deps) -> dict[str, Any]:
    assert opened.action is not None  # a link without an action is never granted uploads
    return await attach_document(opened.action.action_id, filename=filename, content_type=content_type, read=read,
                                 caller=caller, deps=deps)


async def _on_selection(opened: OpenedLink, item_ids: list[str], status_code: str | None, text: str | None, *,
                        caller: Caller, deps: Deps) -> None:
    """A status and/or comment on items no action of this link holds: like step 1 of the wizard."""
    if not item_ids:
        raise Invalid("no open item left to comment on", code="no_open_items")
    tenant, client_id = caller.tenant_id, opened.client.client_id

    async def work(tx: Tx) -> None:
        found = await tx.items.select(tenant, client_id, item_ids)
        items = check_selection(item_ids, found, client_id=client_id)
        status = await status_for(tenant, status_code, tx=tx) if status_code else None
        check_plan(status, FollowScenario(), items)
        holders = await holders_of(items, caller=caller, tx=tx)
        changes = Changes(tenant_id=tenant, actor=caller.actor, now=deps.clock.now())
        changes.track(items)
        changes.qualify(client_id, item_ids, status=status, comment=text)
        changes.qualify_held_items(holders, status, text, item_ids)
        await changes.save(tx)

    await deps.uow.run(work, flow=Flow(tenant, caller.correlation_id))
