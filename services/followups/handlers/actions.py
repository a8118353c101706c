"""Commands on specific actions and follow-ups (rule 8): create from the client page or the agenda, rename,
reschedule, reassign, change content, confirm, add / remove items, update the status of its items, comment,
send emails, close, delete. Every one lands in the action's history; those that change it publish it."""

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated

from pydantic import Field

from shared.contracts.email import EmailPurpose
from shared.contracts.receivables import ReattachReason
from shared.contracts.values import Identifier
from shared.ports import Flow
from services.followups.ports import Tx
from services.followups.domain import actions as act
from services.followups.domain.actions import Action
from services.followups.domain.drafts import ActionSpec, ContentInput
from services.followups.domain.emails import EmailDraft
from services.followups.domain.errors import Invalid, listed
from services.followups.domain.history import EntryKind
from services.followups.domain.items import check_selection
from services.followups.handlers.changes import Changes
from services.followups.handlers.context import Caller, Deps, action_for, client_for, new_id, status_for, user_refs
from services.followups.handlers.mail import request_email
from services.followups.handlers.selection import draft_for, holders_of, refuse_held_elsewhere, select_items

Operation = Callable[[Action, Changes, Tx], Awaitable[None]]


class NewAction(ActionSpec):
    """A specific action created from the client page (with selected items) or the agenda (items optional)."""

    client_id: Identifier
    item_ids: Annotated[list[Identifier], Field(max_length=50_000)] = Field(default_factory=list)


async def create_action(body: NewAction, *, caller: Caller, deps: Deps) -> Action:
    tenant = caller.tenant_id

    async def work(tx: Tx) -> Action:
        if len(set(body.item_ids)) != len(body.item_ids):
            raise Invalid("item_ids lists an item twice", code="duplicate_items")
        client = await client_for(tenant, body.client_id, tx=tx)
        items = await select_items(client, body.item_ids, deps=deps, tx=tx, caller=caller) if body.item_ids else []
        refuse_held_elsewhere(items, await holders_of(items, caller=caller, tx=tx), None)
        draft = await draft_for(body, client=client, status=None, caller=caller, deps=deps, tx=tx)
        changes = Changes(tenant_id=tenant, actor=caller.actor, now=deps.clock.now())
        changes.track(items)
        ids = [item.item_id for item in items]
        action = changes.changed(act.create(draft, action_id=new_id(), client_id=client.client_id, item_ids=ids,
                                            actor=caller.actor, now=changes.now,
                                            origin={"via": "api", "source": body.source.value}))
        assert action is not None
        if ids:
            changes.hold(action, ids)
        await changes.save(tx)
        return action

    return await deps.uow.run(work, flow=Flow(tenant, caller.correlation_id))


async def operate(action_id: str, operation: Operation, *, caller: Caller, deps: Deps) -> Action:
    """Load the action (404 if not the caller's tenant's), apply the operation, write it all in one transaction."""
    async def work(tx: Tx) -> Action:
        action = await action_for(caller.tenant_id, action_id, tx=tx)
        changes = Changes(tenant_id=caller.tenant_id, actor=caller.actor, now=deps.clock.now())
        await operation(action, changes, tx)
        await changes.save(tx)
        return changes.action(action_id, action)

    return await deps.uow.run(work, flow=Flow(caller.tenant_id, caller.correlation_id))


def rename(name: str) -> Operation:
    async def run(action: Action, changes: Changes, tx: Tx) -> None:
        changes.changed(act.rename(action, name, actor=changes.actor, now=changes.now))
    return run


def reschedule(scheduled_for: date, *, deps: Deps) -> Operation:
    async def run(action: Action, changes: Changes, tx: Tx) -> None:
        changes.changed(act.reschedule(action, scheduled_for, today=deps.clock.today(), actor=changes.actor,
                                       now=changes.now))
    return run


def reassign(owner_id: str, *, caller: Caller, deps: Deps) -> Operation:
    async def run(action: Action, changes: Changes, tx: Tx) -> None:
        owners = await user_refs(caller.tenant_id, [owner_id], tx=tx)
        if owner_id not in owners:
            raise Invalid(f"unknown owner {owner_id!r}: the owner must be an active user", code="unknown_owner")
        changes.changed(act.reassign(action, owners[owner_id], actor=changes.actor, now=changes.now))
    return run


def set_content(content: ContentInput | None, *, automatic: bool, to_be_confirmed: bool) -> Operation:
    async def run(action: Action, changes: Changes, tx: Tx) -> None:
        changes.changed(act.change_content(action, content=content.content() if content else None,
                                           automatic=automatic, to_be_confirmed=to_be_confirmed,
                                           actor=changes.actor, now=changes.now))
    return run


def confirm() -> Operation:
    async def run(action: Action, changes: Changes, tx: Tx) -> None:
        changes.changed(act.confirm(action, actor=changes.actor, now=changes.now))
    return run


def add_items(item_ids: list[str], *, caller: Caller, deps: Deps) -> Operation:
    """Items join the action and leave dunning (rule 1); one held elsewhere is a 409 naming its action."""
    async def run(action: Action, changes: Changes, tx: Tx) -> None:
        action.require_open()
        client = await client_for(caller.tenant_id, action.client_id, tx=tx)
        items = await select_items(client, item_ids, deps=deps, tx=tx, caller=caller)
        refuse_held_elsewhere(items, await holders_of(items, caller=caller, tx=tx), action.action_id)
        joining = [item.item_id for item in items if item.item_id not in set(action.item_ids)]
        if len(action.item_ids) + len(joining) > deps.settings.max_items_per_action:
            raise Invalid(f"an action holds at most {deps.settings.max_items_per_action} items", code="too_many_items")
        if joining:
            changes.track(items)
            extended = changes.changed(act.add_items(action, joining, actor=changes.actor, now=changes.now))
            assert extended is not None
            changes.hold(extended, joining)
    return run


def remove_items(item_ids: list[str], *, caller: Caller, deps: Deps) -> Operation:
    """Rule 4: an item disassociated by hand re-enters the scenario."""
    async def run(action: Action, changes: Changes, tx: Tx) -> None:
        action.require_open()
        outside = [item_id for item_id in item_ids if item_id not in set(action.item_ids)]
        if outside:
            raise Invalid(f"not in action {action.action_id}: {listed(outside)}", code="not_in_action",
                          item_ids=outside)
        changes.track((await tx.items.by_ids(caller.tenant_id, item_ids)).values())
        changes.remove_from_action(action, item_ids, ReattachReason.REMOVED_FROM_ACTION)
    return run


def update_item_status(status_code: str | None, comment: str | None, item_ids: list[str] | None, *,
                       caller: Caller, deps: Deps) -> Operation:
    """Qualify the action's items (all its open ones by default); a resolved status releases them (rule 3)."""
    async def run(action: Action, changes: Changes, tx: Tx) -> None:
        action.require_open()
        wanted = item_ids or action.item_ids
        outside = [item_id for item_id in wanted if item_id not in set(action.item_ids)]
        if outside:
            raise Invalid(f"not in action {action.action_id}: {listed(outside)}", code="not_in_action",
                          item_ids=outside)
        found = await tx.items.select(caller.tenant_id, action.client_id, wanted)
        if item_ids:
            items = check_selection(item_ids, found, client_id=action.client_id)
        else:
            items = [found[item_id] for item_id in wanted if item_id in found and not found[item_id].closed]
        if not items:
            raise Invalid(f"action {action.action_id} has no open item to qualify", code="no_open_items")
        status = await status_for(caller.tenant_id, status_code, tx=tx) if status_code else None
        ids = [item.item_id for item in items]
        changes.track(items)
        changes.qualify(action.client_id, ids, status=status, comment=comment, action_id=action.action_id)
        changes.qualify_held_items({action.action_id: action}, status, comment, ids)
    return run


def comment(text: str) -> Operation:
    async def run(action: Action, changes: Changes, tx: Tx) -> None:
        action.require_open()
        changes.note(act.note(action, EntryKind.COMMENT_ADDED, actor=changes.actor, now=changes.now, text=text))
    return run


def send_email(draft: EmailDraft, purpose: EmailPurpose, *, caller: Caller, deps: Deps,
               request_ids: list[str]) -> Operation:
    async def run(action: Action, changes: Changes, tx: Tx) -> None:
        action.require_open()
        client = await client_for(caller.tenant_id, action.client_id, tx=tx)
        items = list((await tx.items.select(caller.tenant_id, client.client_id, action.item_ids)).values())
        # A retried transaction runs this again: keep the ids of the attempt that commits, not of every attempt.
        request_ids[:] = await request_email(draft, purpose=purpose, client=client, items=items, action=action,
                                             changes=changes, caller=caller, deps=deps, tx=tx)
    return run


def close(resolution_note: str | None, *, caller: Caller, deps: Deps) -> Operation:
    """Rule 8: the explicit end; the items it still holds re-enter the scenario."""
    async def run(action: Action, changes: Changes, tx: Tx) -> None:
        held = await tx.items.held_by(caller.tenant_id, action.client_id, action.action_id)
        changes.end_action(act.close(action, resolution_note=resolution_note, actor=changes.actor, now=changes.now),
                           held, ReattachReason.ACTION_CLOSED)
    return run


def delete(reason: str | None, *, caller: Caller, deps: Deps) -> Operation:
    async def run(action: Action, changes: Changes, tx: Tx) -> None:
        held = await tx.items.held_by(caller.tenant_id, action.client_id, action.action_id)
        changes.end_action(act.delete(action, reason=reason or "deleted by hand", actor=changes.actor,
                                      now=changes.now), held, ReattachReason.ACTION_DELETED)
    return run
