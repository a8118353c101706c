"""The change-status wizard as one command: every step is checked before anything is written, then the
status change, releases (rule 3), the new or extended action (rules 1, 2, 6) and the emails commit together."""

from dataclasses import dataclass
from typing import Any

from shared.contracts.email import EmailPurpose
from shared.contracts.values import ItemSnapshot
from shared.ports import Flow
from services.followups.ports import Tx
from services.followups.domain import actions as act
from services.followups.domain.actions import Action, ActionDraft
from services.followups.domain.errors import Invalid
from services.followups.domain.parties import Client
from services.followups.domain.statuses import ItemStatus
from services.followups.domain.wizard import (
    AddToAction,
    ChangeStatus,
    CreateAction,
    NextAction,
    check_plan,
    default_next_action,
)
from services.followups.handlers.changes import Changes
from services.followups.handlers.context import Caller, Deps, action_for, client_for, new_id, status_for
from services.followups.handlers.mail import request_email
from services.followups.handlers.selection import draft_for, holders_of, refuse_held_elsewhere, select_items


async def change_status(cmd: ChangeStatus, *, caller: Caller, deps: Deps) -> dict[str, Any]:
    tenant = caller.tenant_id

    async def work(tx: Tx) -> dict[str, Any]:
        client = await client_for(tenant, cmd.client_id, tx=tx)
        items = await select_items(client, cmd.item_ids, all_open=cmd.all_open_items, deps=deps, tx=tx,
                                   caller=caller)
        status = await status_for(tenant, cmd.status_code, tx=tx) if cmd.status_code else None
        next_action = cmd.next_action or default_next_action(status, items)
        check_plan(status, next_action, items)
        holders = await holders_of(items, caller=caller, tx=tx)
        placement = await _plan_placement(next_action, client=client, items=items, holders=holders, status=status,
                                          caller=caller, deps=deps, tx=tx)
        changes = Changes(tenant_id=tenant, actor=caller.actor, now=deps.clock.now())
        changes.track(items)
        ids = [item.item_id for item in items]
        released_from = _held_ids(items, holders) if status is not None and status.resolves else {}
        if status is not None or cmd.comment:
            changes.qualify(client.client_id, ids, status=status, comment=cmd.comment,
                            action_id=placement.action_id)
            changes.qualify_held_items(holders, status, cmd.comment, ids)
        action = _place(placement, ids, changes, client_id=client.client_id)
        emails = []
        current = changes.current(ids)
        for draft, purpose in ((cmd.client_email, EmailPurpose.CLIENT),
                               (cmd.internal_email, EmailPurpose.INTERNAL_INTERACTIVE)):
            if draft is not None:
                emails.extend(await request_email(draft, purpose=purpose, client=client, items=current,
                                                  action=action, changes=changes, caller=caller, deps=deps, tx=tx))
        await changes.save(tx)
        return {"client_id": client.client_id, "item_count": len(ids), "status_code": cmd.status_code,
                "next_action": next_action.kind,
                "action": action.snapshot().model_dump(mode="json", exclude={"item_ids"}) | {
                    "item_count": len(action.item_ids)} if action else None,
                "released": [{"action_id": a, "item_count": len(i)} for a, i in released_from.items()],
                "email_request_ids": emails}

    return await deps.uow.run(work, flow=Flow(tenant, caller.correlation_id))


async def suggest(cmd: ChangeStatus, *, caller: Caller, deps: Deps) -> dict[str, Any]:
    """What the wizard would do by default for this status and selection (rule 6: 'suggests'), writing nothing."""
    tenant = caller.tenant_id

    async def work(tx: Tx) -> dict[str, Any]:
        client = await client_for(tenant, cmd.client_id, tx=tx)
        items = await select_items(client, cmd.item_ids, all_open=cmd.all_open_items, deps=deps, tx=tx,
                                   caller=caller)
        status = await status_for(tenant, cmd.status_code, tx=tx) if cmd.status_code else None
        next_action = cmd.next_action or default_next_action(status, items)
        proposal: dict[str, Any] = {"next_action": next_action.model_dump(mode="json")}
        if isinstance(next_action, CreateAction):
            draft = await draft_for(next_action, client=client, status=status, caller=caller, deps=deps, tx=tx)
            proposal["action"] = draft.model_dump(mode="json")
        return proposal

    return await deps.uow.run(work, flow=Flow(tenant, caller.correlation_id))


@dataclass(frozen=True)
class Placement:
    """Step 3 once checked: a new action's settings, or the open action the items join."""

    draft: ActionDraft | None = None
    target: Action | None = None
    source: str | None = None
    action_id: str | None = None


async def _plan_placement(next_action: NextAction, *, client: Client, items: list[ItemSnapshot],
                          holders: dict[str, Action], status: ItemStatus | None, caller: Caller, deps: Deps,
                          tx: Tx) -> Placement:
    """Step 3 checked before any write (409 for an item another action holds)."""
    if isinstance(next_action, AddToAction):
        target = await action_for(caller.tenant_id, next_action.action_id, tx=tx,
                                  referenced=True)
        target.require_open()
        if target.client_id != client.client_id:
            raise Invalid(f"action {target.action_id} is about another client", code="action_of_other_client")
        refuse_held_elsewhere(items, holders, target.action_id)
        joining = {item.item_id for item in items} - set(target.item_ids)
        if len(target.item_ids) + len(joining) > deps.settings.max_items_per_action:
            raise Invalid(f"an action holds at most {deps.settings.max_items_per_action} items", code="too_many_items")
        return Placement(target=target, action_id=target.action_id)
    if isinstance(next_action, CreateAction):
        refuse_held_elsewhere(items, holders, None)
        draft = await draft_for(next_action, client=client, status=status, caller=caller, deps=deps, tx=tx)
        return Placement(draft=draft, source=next_action.source.value, action_id=new_id())
    return Placement()


def _place(placement: Placement, ids: list[str], changes: Changes, *, client_id: str) -> Action | None:
    """Step 3 applied: create the action holding the items, or add them to the chosen one."""
    if placement.draft is not None and placement.action_id is not None:
        created = changes.changed(act.create(placement.draft, action_id=placement.action_id, client_id=client_id,
                                             item_ids=ids, actor=changes.actor, now=changes.now,
                                             origin={"via": "wizard", "source": placement.source}))
        assert created is not None
        changes.hold(created, ids)
        return created
    if placement.target is None:
        return None
    current = changes.action(placement.target.action_id, placement.target)
    joining = [item_id for item_id in ids if item_id not in set(current.item_ids)]
    if not joining:
        return current
    extended = changes.changed(act.add_items(current, joining, actor=changes.actor, now=changes.now))
    assert extended is not None
    changes.hold(extended, joining)
    return extended


def _held_ids(items: list[ItemSnapshot], holders: dict[str, Action]) -> dict[str, list[str]]:
    held: dict[str, list[str]] = {}
    for item in items:
        if item.held_by_action_id in holders:
            held.setdefault(item.held_by_action_id, []).append(item.item_id)
    return held
