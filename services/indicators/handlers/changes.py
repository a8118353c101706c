"""Item and action events: each counted as a difference, O(items in the event), never O(portfolio).

Item events carry full snapshots with a per-item version: a snapshot older than (or as old as) the
one held changes nothing, so redeliveries and events arriving out of order across topics are
harmless. A handler reads and records through `tx.store`; in a batch that store is buffered for
the whole transaction (`subscribers.py`), and `reads` names beforehand what the event will read.
"""

from collections.abc import Sequence
from datetime import datetime

from services.indicators.domain.facts import Counted, count_action, count_item
from services.indicators.domain.figures import change
from services.indicators.domain.history import EventRef, scopes_touched
from services.indicators.ports import Change, Counting, Counts, HeldItem, Keys, Stamp
from shared.contracts.actions import ActionChanged
from shared.contracts.envelope import Envelope
from shared.contracts.receivables import ItemEvent
from shared.contracts.values import ActionSnapshot, ItemSnapshot

CountedEvent = ItemEvent | ActionChanged


def event_ref(envelope: Envelope) -> EventRef:
    """The event a change is stamped with in the history."""
    return EventRef(event_id=envelope.id, event_type=envelope.type, event_time=envelope.time)


def reads(event: CountedEvent, tenant_id: str) -> Keys:
    """What counting `event` reads: loaded for a whole batch before any of its events is counted."""
    if isinstance(event, ActionChanged):
        return Keys(actions={(tenant_id, event.action.action_id)}, clients={(tenant_id, event.action.client_id)})
    snapshots = event.items
    return Keys(items={(tenant_id, s.item_id) for s in snapshots},
                clients={(tenant_id, s.client_id) for s in snapshots},
                statuses={(tenant_id, s.status_code) for s in snapshots if s.status_code})


async def on_item_event(event: ItemEvent, envelope: Envelope, tx: Counts, *, now: datetime) -> None:
    """Any item event (upserted, closed, status changed, detached, reattached): count its snapshots."""
    await apply_item_snapshots(event.items, envelope.tenant_id, Stamp(at=now, event=event_ref(envelope)),
                               store=tx.store)


async def apply_item_snapshots(snapshots: Sequence[ItemSnapshot], tenant_id: str, stamp: Stamp, *,
                               store: Counting) -> None:
    """Count the snapshots newer than those held."""
    newest: dict[str, ItemSnapshot] = {}
    for snapshot in snapshots:
        if snapshot.item_id not in newest or snapshot.version > newest[snapshot.item_id].version:
            newest[snapshot.item_id] = snapshot
    held = await store.held_items(tenant_id, list(newest))
    fresh = [snapshot for item_id, snapshot in newest.items()
             if item_id not in held or snapshot.version > held[item_id].snapshot.version]
    if fresh:
        await store.record(tenant_id, await count_items(tenant_id, fresh, held, store=store), stamp=stamp)


async def on_action_changed(event: ActionChanged, envelope: Envelope, tx: Counts, *, now: datetime) -> None:
    """Open follow-ups per scope: an action counts while it is an open follow-up."""
    tenant_id, action, store = envelope.tenant_id, event.action, tx.store
    held = (await store.held_actions(tenant_id, [action.action_id])).get(action.action_id)
    if held is not None and held.snapshot.version >= action.version:
        return
    client = (await store.clients(tenant_id, [action.client_id])).get(action.client_id)
    counted = changed(action, held.counted if held else None, count_action(action, client=client))
    await store.record(tenant_id, [counted], stamp=Stamp(at=now, event=event_ref(envelope)))


def changed(snapshot: ItemSnapshot | ActionSnapshot, before: Counted | None, after: Counted) -> Change:
    """A subject counted anew, with the difference it makes to the figures and the scopes concerned."""
    return Change(snapshot=snapshot, before=before, after=after, deltas=change(before, after),
                  scopes=scopes_touched(before, after))


async def count_items(tenant_id: str, snapshots: Sequence[ItemSnapshot], held: dict[str, HeldItem], *,
                      store: Counting) -> list[Change]:
    """Count each snapshot with its client's and its status' current facts."""
    clients = await store.clients(tenant_id, sorted({s.client_id for s in snapshots}))
    statuses = await store.statuses(tenant_id, sorted({s.status_code for s in snapshots if s.status_code}))
    return [
        changed(snapshot, held[snapshot.item_id].counted if snapshot.item_id in held else None,
                count_item(snapshot, client=clients.get(snapshot.client_id),
                           status=statuses.get(snapshot.status_code) if snapshot.status_code else None))
        for snapshot in snapshots
    ]
