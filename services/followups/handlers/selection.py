"""Loading what a command works on: a client's selected items (validated), their holders, a new action's
settings resolved from its source. Shared by the wizard and the action commands."""

from collections.abc import Sequence

from shared.contracts.values import ItemSnapshot
from services.followups.domain.actions import Action, ActionDraft
from services.followups.domain.drafts import ActionSource, ActionSpec, owner_candidates, resolve_draft
from services.followups.domain.errors import Invalid, ItemsAlreadyHeld
from services.followups.domain.items import check_selection, held_by_others
from services.followups.domain.parties import Client
from services.followups.domain.statuses import ItemStatus
from services.followups.handlers.context import Caller, Deps, action_for, status_for, user_refs
from services.followups.ports import Tx


async def select_items(client: Client, item_ids: Sequence[str], *, all_open: bool = False, deps: Deps, tx: Tx,
                       caller: Caller) -> list[ItemSnapshot]:
    """The client's selected items: every id known, of this client, and open; else 422 naming the bad ones."""
    if all_open:
        items = await tx.items.of_client(caller.tenant_id, client.client_id, open_only=True)
        if not items:
            raise Invalid(f"client {client.client_id} has no open item", code="no_open_items")
    else:
        found = await tx.items.select(caller.tenant_id, client.client_id, item_ids)
        items = check_selection(item_ids, found, client_id=client.client_id)
    if len(items) > deps.settings.max_items_per_action:
        raise Invalid(f"{len(items)} items selected; one request handles at most "
                      f"{deps.settings.max_items_per_action}", code="too_many_items")
    return items


async def holders_of(items: Sequence[ItemSnapshot], *, caller: Caller, tx: Tx) -> dict[str, Action]:
    held = {item.held_by_action_id for item in items if item.held_by_action_id}
    return await tx.actions.many(caller.tenant_id, sorted(held)) if held else {}


def refuse_held_elsewhere(items: Sequence[ItemSnapshot], holders: dict[str, Action], action_id: str | None) -> None:
    """An item is held by at most one open action: 409 naming the one that holds it."""
    for holder_id, item_ids in held_by_others(items, action_id).items():
        holder = holders.get(holder_id)
        raise ItemsAlreadyHeld(action_id=holder_id, action_name=holder.name if holder else "?",
                               action_type=holder.type if holder else "action", item_ids=item_ids)


async def draft_for(spec: ActionSpec, *, client: Client, status: ItemStatus | None, caller: Caller, deps: Deps,
                    tx: Tx) -> ActionDraft:
    """Resolve a new action's settings from its source, loading only what that source needs."""
    tenant = caller.tenant_id
    if spec.source == ActionSource.STATUS_MODEL and spec.status_code:
        status = await status_for(tenant, spec.status_code, tx=tx)
    template = copied = None
    if spec.template_id:
        template = await tx.templates.get(tenant, spec.template_id)
        if template is None:
            raise Invalid(f"unknown template {spec.template_id!r}", code="unknown_template")
    if spec.source == ActionSource.COPY_ACTION and spec.copy_from_action_id:
        copied = await action_for(tenant, spec.copy_from_action_id, tx=tx, referenced=True)
    candidates = owner_candidates(spec, status=status, copied=copied, caller_id=caller.user_id, client=client)
    users = await user_refs(tenant, candidates, tx=tx)
    return resolve_draft(spec, client=client, today=deps.clock.today(), status=status, template=template,
                         copied=copied, users=users, caller_id=caller.user_id)
