"""Item and status events: apply each item snapshot only if newer (pause held items, resume released
ones, drop closed ones), and let items back into the flow when their status no longer takes them out."""

from services.dunning.domain.history import HistoryEntry
from services.dunning.domain.progress import apply_snapshot, due_step, paused_by, rewound
from services.dunning.domain.scenarios import Scenario, scenario_for
from services.dunning.domain.state import ClientState, ItemState, StatusRule
from services.dunning.handlers.clients import event_entry
from services.dunning.handlers.scenarios import tenant_scenarios
from services.dunning.ports import Tx
from shared.contracts.envelope import Envelope
from shared.contracts.receivables import ItemEvent, ItemsDetached, ItemStatusDefined
from shared.platform.clock import Clock


async def on_items_changed(event: ItemEvent, envelope: Envelope, tx: Tx, *, clock: Clock) -> None:
    """Apply each item snapshot only if newer: pause held items, resume released ones, drop closed ones."""
    tenant_id = envelope.tenant_id
    client = await tx.clients.client(tenant_id, event.client_id) or ClientState(client_id=event.client_id)
    scenario = scenario_for(await tenant_scenarios(tenant_id, tx, clock), client.scenario_code)
    assert scenario is not None
    statuses = await tx.clients.status_rules(tenant_id)
    held = await tx.items.items_by_id(tenant_id, [s.item_id for s in event.items])
    changed: dict[str, ItemState] = {}
    resumed: list[ItemState] = []
    for snapshot in sorted(event.items, key=lambda s: s.version):
        before = held.get(snapshot.item_id)
        updated = apply_snapshot(before, snapshot, scenario=scenario, statuses=statuses)
        if updated is not None:
            held[snapshot.item_id] = changed[snapshot.item_id] = updated
            if updated.resumed is not None and (before is None or before.resumed != updated.resumed):
                resumed.append(updated)
    await tx.items.save_items(tenant_id, list(changed.values()))
    await tx.records.add_history(_item_history(event, envelope, changed, resumed, scenario, clock))


def _item_history(event: ItemEvent, envelope: Envelope, changed: dict[str, ItemState], resumed: list[ItemState],
                  scenario: Scenario, clock: Clock) -> list[HistoryEntry]:
    """Pauses and resumptions, with the step the item's age calls for: the choice is recorded."""
    entries = []
    if isinstance(event, ItemsDetached) and changed:
        entries.append(event_entry(envelope, event.client_id, "paused",
                                   f"paused: held by {event.action_type.value.replace('_', '-')} {event.action_id}",
                                   sorted(changed)))
    for item in resumed:
        assert item.resumed is not None
        due = due_step(item, scenario, clock.today())
        calls_for = (f"its age calls for {due.step.label} now" if due else
                     f"next step {scenario.step(item.next_step).label if scenario.step(item.next_step) else 'none'}")
        passed = f"; not sent again: {', '.join(s.label for s in due.passed_over)}" if due and due.passed_over else ""
        entries.append(event_entry(envelope, event.client_id, "resumed",
                                   f"{item.number} re-entered the flow ({item.resumed.reason}); {calls_for}{passed}",
                                   [item.item_id], suffix=item.item_id))
    return entries


async def on_status_defined(event: ItemStatusDefined, envelope: Envelope, tx: Tx, *, clock: Clock) -> None:
    """Keep the status rule; items carrying a status that no longer takes them out re-enter the flow."""
    tenant_id = envelope.tenant_id
    statuses = await tx.clients.status_rules(tenant_id)
    current = statuses.get(event.code)
    if current is not None and event.version <= current.version:
        return
    rule = StatusRule.model_validate(event.model_dump())
    await tx.clients.save_status(tenant_id, rule)
    if current is None or not current.takes_out_of_dunning or rule.takes_out_of_dunning:
        return
    statuses[event.code] = rule
    items = await tx.items.items_with_status(tenant_id, event.code)
    clients = await tx.clients.clients_by_id(tenant_id, {item.client_id for item in items})
    scenarios = await tenant_scenarios(tenant_id, tx, clock)
    moved = []
    for item in items:
        if paused_by(item, statuses) is None and not item.closed:
            client = clients.get(item.client_id)
            scenario = scenario_for(scenarios, client.scenario_code if client else None)
            assert scenario is not None
            moved.append(rewound(item, scenario))
    await tx.items.set_positions(tenant_id, moved)
