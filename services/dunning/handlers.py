"""Event handlers: the dunning state of clients, items, statuses and specific actions, from events only.

Each handler runs inside the consumer's transaction (`ctx.session`), which also records the event as
handled; per-item and per-client versions make a redelivered, replayed or out-of-order event harmless.
"""

from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from services.dunning.adapters.store import DunningStore
from services.dunning.domain.default_scenario import default_scenario
from services.dunning.domain.progress import apply_snapshot, due_step, paused_by, plan_action, rewound
from services.dunning.domain.scenarios import Scenario, scenario_for
from services.dunning.domain.state import ClientState, ItemState, StatusRule
from shared.contracts.actions import ActionChanged
from shared.contracts.receivables import ClientUpserted, ItemEvent, ItemsDetached, ItemStatusDefined
from shared.platform.clock import Clock
from shared.platform.consumer import EventContext


async def tenant_scenarios(
    tenant_id: str, *, store: DunningStore, at: datetime, session: AsyncClientSession | None = None
) -> list[Scenario]:
    """The tenant's scenarios; on first use the shipped default scenario is created."""
    scenarios = await store.scenarios_of(tenant_id, session=session)
    if scenarios:
        return scenarios
    default = Scenario(**default_scenario().model_dump(), tenant_id=tenant_id, version=1)
    await store.insert_scenario_if_missing(default, at=at, session=session)
    return [default]


async def on_client_upserted(event: ClientUpserted, ctx: EventContext, *, store: DunningStore, clock: Clock) -> None:
    """Keep the client; move its items when its scenario changes, resume them when exclusion is lifted."""
    tenant_id, session = ctx.envelope.tenant_id, ctx.session
    current = await store.client(tenant_id, event.client_id, session=session)
    if current is not None and event.version <= current.version:
        return
    client = ClientState.model_validate(event.model_dump())
    await store.save_client(tenant_id, client, session=session)
    scenario = scenario_for(await tenant_scenarios(tenant_id, store=store, at=clock.now(), session=session),
                            client.scenario_code)
    assert scenario is not None
    lifted = current is not None and current.dunning_excluded and not client.dunning_excluded
    statuses = await store.status_rules(tenant_id, session=session) if lifted else {}
    items = await store.items_where(tenant_id, {"client_id": event.client_id}, session=session)
    moved = [
        rewound(item, scenario) for item in items
        if item.scenario_code != scenario.code or (lifted and paused_by(item, statuses) is None)
    ]
    await store.update_items(tenant_id, {i.item_id: {"next_step": i.next_step, "scenario_code": i.scenario_code}
                                         for i in moved}, session=session)
    if current is None or current.dunning_excluded != client.dunning_excluded:
        what = "excluded from dunning" if client.dunning_excluded else "in dunning"
        await store.add_history([_entry(ctx, tenant_id, event.client_id, "client", f"client {what}", [])],
                                session=session)


async def on_items_changed(event: ItemEvent, ctx: EventContext, *, store: DunningStore, clock: Clock) -> None:
    """Apply each item snapshot only if newer: pause held items, resume released ones, drop closed ones."""
    tenant_id, session = ctx.envelope.tenant_id, ctx.session
    client = await store.client(tenant_id, event.client_id, session=session) or ClientState(client_id=event.client_id)
    scenario = scenario_for(await tenant_scenarios(tenant_id, store=store, at=clock.now(), session=session),
                            client.scenario_code)
    assert scenario is not None
    statuses = await store.status_rules(tenant_id, session=session)
    held = await store.items_by_id(tenant_id, [s.item_id for s in event.items], session=session)
    changed: dict[str, ItemState] = {}
    resumed: list[ItemState] = []
    for snapshot in sorted(event.items, key=lambda s: s.version):
        before = held.get(snapshot.item_id)
        updated = apply_snapshot(before, snapshot, scenario=scenario, statuses=statuses)
        if updated is not None:
            held[snapshot.item_id] = changed[snapshot.item_id] = updated
            if updated.resumed is not None and (before is None or before.resumed != updated.resumed):
                resumed.append(updated)
    await store.save_items(tenant_id, list(changed.values()), session=session)
    await store.add_history(_item_history(event, ctx, tenant_id, changed, resumed, scenario, clock), session=session)


def _item_history(event: ItemEvent, ctx: EventContext, tenant_id: str, changed: dict[str, ItemState],
                  resumed: list[ItemState], scenario: Scenario, clock: Clock) -> list[dict[str, object]]:
    """Pauses and resumptions, with the step the item's age calls for: the choice is recorded."""
    entries = []
    if isinstance(event, ItemsDetached) and changed:
        entries.append(_entry(ctx, tenant_id, event.client_id, "paused",
                              f"paused: held by {event.action_type.value.replace('_', '-')} {event.action_id}",
                              sorted(changed)))
    for item in resumed:
        assert item.resumed is not None
        due = due_step(item, scenario, clock.today())
        calls_for = (f"its age calls for {due.step.label} now" if due else
                     f"next step {scenario.step(item.next_step).label if scenario.step(item.next_step) else 'none'}")
        passed = f"; not sent again: {', '.join(s.label for s in due.passed_over)}" if due and due.passed_over else ""
        entries.append(_entry(ctx, tenant_id, event.client_id, "resumed",
                              f"{item.number} re-entered the flow ({item.resumed.reason}); {calls_for}{passed}",
                              [item.item_id], suffix=item.item_id))
    return entries


def _entry(ctx: EventContext, tenant_id: str, client_id: str, kind: str, text: str, item_ids: list[str],
           suffix: str = "") -> dict[str, object]:
    return {"_id": f"{tenant_id}|{ctx.envelope.id}|{kind}|{suffix}", "tenant_id": tenant_id, "client_id": client_id,
            "kind": kind, "text": text, "item_ids": item_ids, "at": ctx.envelope.time, "event_id": ctx.envelope.id}


async def on_status_defined(event: ItemStatusDefined, ctx: EventContext, *, store: DunningStore, clock: Clock) -> None:
    """Keep the status rule; items carrying a status that no longer takes them out re-enter the flow."""
    tenant_id, session = ctx.envelope.tenant_id, ctx.session
    statuses = await store.status_rules(tenant_id, session=session)
    current = statuses.get(event.code)
    if current is not None and event.version <= current.version:
        return
    rule = StatusRule.model_validate(event.model_dump())
    await store.save_status(tenant_id, rule, session=session)
    if current is None or not current.takes_out_of_dunning or rule.takes_out_of_dunning:
        return
    statuses[event.code] = rule
    items = await store.items_where(tenant_id, {"status_code": event.code}, session=session)
    clients = await store.clients_by_id(tenant_id, {item.client_id for item in items}, session=session)
    scenarios = await tenant_scenarios(tenant_id, store=store, at=clock.now(), session=session)
    updates = {}
    for item in items:
        if paused_by(item, statuses) is None and not item.closed:
            client = clients.get(item.client_id)
            scenario = scenario_for(scenarios, client.scenario_code if client else None)
            assert scenario is not None
            moved = rewound(item, scenario)
            updates[item.item_id] = {"next_step": moved.next_step, "scenario_code": moved.scenario_code}
    await store.update_items(tenant_id, updates, session=session)


async def on_action_changed(event: ActionChanged, ctx: EventContext, *, store: DunningStore, clock: Clock) -> None:
    """Keep the specific action for the agenda; an automatic one is queued for its date (once per date)."""
    tenant_id, session = ctx.envelope.tenant_id, ctx.session
    current = await store.action(tenant_id, event.action.action_id, session=session)
    planned = plan_action(current, event.action)
    if planned is not None:
        await store.save_action(tenant_id, planned, session=session)
