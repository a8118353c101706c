"""One async function per event: the message first, dependencies keyword-only.

Item events carry full snapshots with a per-item version: a snapshot older than (or as old as) the
one held changes nothing, so redeliveries and events arriving out of order across topics are
harmless. Every change is applied as a difference, O(items in the event), never O(portfolio).
Item and action events are staged in their transaction and applied with the rest of their batch
(`batching`): a batch of events costs a fixed number of round trips.
A change of a client's attribution or of a status definition recounts only the items concerned,
in small transactions, while the stream goes on.
"""

from collections.abc import Sequence
from datetime import timedelta

from services.indicators.domain.facts import (
    ALL_RULES,
    UNDEFINED_RULE,
    Attribution,
    ClientFacts,
    StatusFacts,
    count_action,
    count_item,
)
from services.indicators.batching import in_transaction
from services.indicators.domain.history import EventRef
from services.indicators.ports import Change, Counting, HeldItem, IndicatorStore, Keys, Session, Stamp, Transact
from shared.contracts.actions import ActionChanged
from shared.contracts.receivables import (
    ClientUpserted,
    ItemsClosed,
    ItemsDetached,
    ItemsReattached,
    ItemStatusChanged,
    ItemStatusDefined,
    ItemsUpserted,
)
from shared.contracts.values import ItemSnapshot
from shared.platform.clock import Clock
from shared.platform.consumer import EventContext
from shared.sequences import chunks

DEFAULT_CHUNK = 200


def event_ref(ctx: EventContext) -> EventRef:
    return EventRef(event_id=ctx.envelope.id, event_type=ctx.envelope.type, event_time=ctx.envelope.time)


async def on_items_upserted(event: ItemsUpserted, ctx: EventContext, *, store: IndicatorStore, clock: Clock) -> None:
    await apply_item_snapshots(event.items, ctx, store=store, clock=clock)


async def on_items_closed(event: ItemsClosed, ctx: EventContext, *, store: IndicatorStore, clock: Clock) -> None:
    await apply_item_snapshots(event.items, ctx, store=store, clock=clock)


async def on_item_status_changed(event: ItemStatusChanged, ctx: EventContext, *, store: IndicatorStore,
                                 clock: Clock) -> None:
    await apply_item_snapshots(event.items, ctx, store=store, clock=clock)


async def on_items_detached(event: ItemsDetached, ctx: EventContext, *, store: IndicatorStore, clock: Clock) -> None:
    await apply_item_snapshots(event.items, ctx, store=store, clock=clock)


async def on_items_reattached(event: ItemsReattached, ctx: EventContext, *, store: IndicatorStore,
                              clock: Clock) -> None:
    await apply_item_snapshots(event.items, ctx, store=store, clock=clock)


async def apply_item_snapshots(snapshots: Sequence[ItemSnapshot], ctx: EventContext, *, store: IndicatorStore,
                               clock: Clock) -> None:
    """Apply the snapshots newer than those held, inside the event's transaction."""
    tenant_id, stamp = ctx.envelope.tenant_id, Stamp(at=clock.now(), event=event_ref(ctx))
    newest: dict[str, ItemSnapshot] = {}
    for snapshot in snapshots:
        if snapshot.item_id not in newest or snapshot.version > newest[snapshot.item_id].version:
            newest[snapshot.item_id] = snapshot
    keys = Keys(items={(tenant_id, item_id) for item_id in newest},
                clients={(tenant_id, snapshot.client_id) for snapshot in newest.values()},
                statuses={(tenant_id, snapshot.status_code) for snapshot in newest.values() if snapshot.status_code})

    async def apply(view: Counting) -> None:
        held = await view.held_items(tenant_id, list(newest), session=ctx.session)
        fresh = [snapshot for item_id, snapshot in newest.items()
                 if item_id not in held or snapshot.version > held[item_id].snapshot.version]
        if fresh:
            changes = await _count(tenant_id, fresh, held, store=view, session=ctx.session)
            await view.record(tenant_id, changes, stamp=stamp, session=ctx.session)

    await in_transaction(ctx, store, keys, apply)


async def on_action_changed(event: ActionChanged, ctx: EventContext, *, store: IndicatorStore, clock: Clock) -> None:
    """Open follow-ups per scope: an action counts while it is an open follow-up."""
    tenant_id, action = ctx.envelope.tenant_id, event.action
    stamp = Stamp(at=clock.now(), event=event_ref(ctx))
    keys = Keys(actions={(tenant_id, action.action_id)}, clients={(tenant_id, action.client_id)})

    async def apply(view: Counting) -> None:
        held = (await view.held_actions(tenant_id, [action.action_id], session=ctx.session)).get(action.action_id)
        if held is not None and held.snapshot.version >= action.version:
            return
        client = (await view.clients(tenant_id, [action.client_id], session=ctx.session)).get(action.client_id)
        change = Change(snapshot=action, before=held.counted if held else None,
                        after=count_action(action, client=client))
        await view.record(tenant_id, [change], stamp=stamp, session=ctx.session)

    await in_transaction(ctx, store, keys, apply)


async def on_client_upserted(event: ClientUpserted, ctx: EventContext, *, store: IndicatorStore, transact: Transact,
                             clock: Clock, chunk_size: int = DEFAULT_CHUNK) -> None:
    """Keep the client's attribution; when it moves (collector, entity, group), move its figures."""
    tenant_id, facts, ref = ctx.envelope.tenant_id, ClientFacts.of(event), event_ref(ctx)

    async def save(session: Session) -> bool:
        outcome = await store.save_client(tenant_id, facts, stamp=Stamp(at=clock.now(), event=ref), session=session)
        previous = outcome.previous
        moved = previous is None or Attribution.of(facts.client_id, previous) != Attribution.of(facts.client_id, facts)
        # A redelivery of the version held may follow a crash half-way through the move: finish it.
        return (outcome.saved and moved) or (not outcome.saved and previous == facts)

    if await transact(save):
        await reattribute_client(tenant_id, event.client_id, event=ref, store=store, transact=transact, clock=clock,
                                 chunk_size=chunk_size)


async def on_status_defined(event: ItemStatusDefined, ctx: EventContext, *, store: IndicatorStore,
                            transact: Transact, clock: Clock, chunk_size: int = DEFAULT_CHUNK) -> None:
    """Keep the definition; when what it counts as changes, recount the items that carry it."""
    tenant_id, facts, ref = ctx.envelope.tenant_id, StatusFacts.of(event), event_ref(ctx)

    async def save(session: Session) -> None:
        await store.save_status(tenant_id, facts, stamp=Stamp(at=clock.now(), event=ref), session=session)

    await transact(save)
    await reclassify_status(tenant_id, event.code, event=ref, store=store, transact=transact, clock=clock,
                            chunk_size=chunk_size)


async def reclassify_status(tenant_id: str, code: str, *, event: EventRef, store: IndicatorStore,
                            transact: Transact, clock: Clock, chunk_size: int = DEFAULT_CHUNK) -> int:
    """Recount the items carrying `code` that were counted under another rule than its current one."""
    status = (await store.statuses(tenant_id, [code], session=None)).get(code)
    current = status.rule if status is not None else UNDEFINED_RULE
    stale = await store.item_ids_counted_under(tenant_id, code, [rule for rule in ALL_RULES if rule != current])
    return await recount(tenant_id, stale, [], event=event, store=store, transact=transact, clock=clock,
                         chunk_size=chunk_size)


async def reattribute_client(tenant_id: str, client_id: str, *, event: EventRef, store: IndicatorStore,
                             transact: Transact, clock: Clock, chunk_size: int = DEFAULT_CHUNK) -> int:
    """Recount a client's items and actions under its current attribution."""
    items = await store.item_ids_of_client(tenant_id, client_id)
    actions = await store.action_ids_of_client(tenant_id, client_id)
    return await recount(tenant_id, items, actions, event=event, store=store, transact=transact, clock=clock,
                         chunk_size=chunk_size)


async def recount(tenant_id: str, item_ids: Sequence[str], action_ids: Sequence[str], *, event: EventRef,
                  store: IndicatorStore, transact: Transact, clock: Clock, chunk_size: int = DEFAULT_CHUNK) -> int:
    """Count the given items and actions again with the current facts, one small transaction per chunk;
    returns how many changed. Idempotent: a subject already counted right is left alone."""
    changed = 0
    for chunk in chunks(item_ids, chunk_size):
        changed += await transact(lambda session, chunk=chunk: _recount_items(
            tenant_id, chunk, event=event, store=store, clock=clock, session=session))
    for chunk in chunks(action_ids, chunk_size):
        changed += await transact(lambda session, chunk=chunk: _recount_actions(
            tenant_id, chunk, event=event, store=store, clock=clock, session=session))
    return changed


async def _recount_items(tenant_id: str, item_ids: Sequence[str], *, event: EventRef, store: IndicatorStore,
                         clock: Clock, session: Session) -> int:
    held = await store.held_items(tenant_id, item_ids, session=session)
    changes = await _count(tenant_id, [h.snapshot for h in held.values()], held, store=store, session=session)
    changes = [change for change in changes if change.after != change.before]
    if changes:
        await store.record(tenant_id, changes, stamp=Stamp(at=clock.now(), event=event), session=session)
    return len(changes)


async def _recount_actions(tenant_id: str, action_ids: Sequence[str], *, event: EventRef, store: IndicatorStore,
                           clock: Clock, session: Session) -> int:
    held = await store.held_actions(tenant_id, action_ids, session=session)
    clients = await store.clients(tenant_id, sorted({h.snapshot.client_id for h in held.values()}), session=session)
    changes = [Change(snapshot=h.snapshot, before=h.counted,
                      after=count_action(h.snapshot, client=clients.get(h.snapshot.client_id)))
               for h in held.values()]
    changes = [change for change in changes if change.after != change.before]
    if changes:
        await store.record(tenant_id, changes, stamp=Stamp(at=clock.now(), event=event), session=session)
    return len(changes)


async def _count(tenant_id: str, snapshots: Sequence[ItemSnapshot], held: dict[str, HeldItem], *,
                 store: Counting, session: Session) -> list[Change]:
    """Count each snapshot with its client's and its status' current facts."""
    clients = await store.clients(tenant_id, sorted({s.client_id for s in snapshots}), session=session)
    statuses = await store.statuses(tenant_id, sorted({s.status_code for s in snapshots if s.status_code}),
                                    session=session)
    return [
        Change(snapshot=snapshot, before=held[snapshot.item_id].counted if snapshot.item_id in held else None,
               after=count_item(snapshot, client=clients.get(snapshot.client_id),
                                status=statuses.get(snapshot.status_code) if snapshot.status_code else None))
        for snapshot in snapshots
    ]



async def settle_recent_definitions(*, store: IndicatorStore, transact: Transact, clock: Clock, since_seconds: float,
                                    chunk_size: int = DEFAULT_CHUNK) -> int:
    """Recount for clients and statuses defined recently: an item event that read the old facts in a
    transaction that committed after the immediate recount is caught here. Returns subjects changed."""
    clients, statuses = await store.recently_defined(clock.now() - timedelta(seconds=since_seconds))
    changed = 0
    for client in clients:
        changed += await reattribute_client(client.tenant_id, client.key, event=client.event, store=store,
                                            transact=transact, clock=clock, chunk_size=chunk_size)
    for status in statuses:
        changed += await reclassify_status(status.tenant_id, status.key, event=status.event, store=store,
                                           transact=transact, clock=clock, chunk_size=chunk_size)
    return changed
