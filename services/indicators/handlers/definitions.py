"""A client's attribution or a status definition changed: keep the facts, and recount only the items
(and actions) concerned, in small transactions of their own while the stream goes on.

A recount is idempotent (a subject already counted right is left alone), so a redelivery, a crash
half-way or the settling pass repeating it changes nothing visible.
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
)
from services.indicators.domain.history import EventRef
from services.indicators.handlers.changes import changed, count_items, event_ref
from services.indicators.ports import IndicatorStore, Stamp, Tx
from shared.contracts.envelope import Envelope
from shared.contracts.receivables import ClientUpserted, ItemStatusDefined
from shared.platform.clock import Clock
from shared.ports import Flow, UnitOfWork
from shared.sequences import chunks

DEFAULT_CHUNK = 200


async def on_client_upserted(event: ClientUpserted, envelope: Envelope, *, uow: UnitOfWork[Tx], clock: Clock,
                             chunk_size: int = DEFAULT_CHUNK) -> None:
    """Keep the client's attribution; when it moves (collector, entity, group), move its figures."""
    tenant_id, facts, ref = envelope.tenant_id, ClientFacts.of(event), event_ref(envelope)

    async def save(tx: Tx) -> bool:
        outcome = await tx.store.save_client(tenant_id, facts, stamp=Stamp(at=clock.now(), event=ref))
        previous = outcome.previous
        moved = previous is None or Attribution.of(facts.client_id, previous) != Attribution.of(facts.client_id, facts)
        # A redelivery of the version held may follow a crash half-way through the move: finish it.
        return (outcome.saved and moved) or (not outcome.saved and previous == facts)

    if await uow.run(save, flow=Flow.caused_by(envelope)):
        await reattribute_client(tenant_id, event.client_id, event=ref, uow=uow, clock=clock, chunk_size=chunk_size)


async def on_status_defined(event: ItemStatusDefined, envelope: Envelope, *, uow: UnitOfWork[Tx], clock: Clock,
                            chunk_size: int = DEFAULT_CHUNK) -> None:
    """Keep the definition; when what it counts as changes, recount the items that carry it."""
    tenant_id, facts, ref = envelope.tenant_id, StatusFacts.of(event), event_ref(envelope)

    async def save(tx: Tx) -> None:
        await tx.store.save_status(tenant_id, facts, stamp=Stamp(at=clock.now(), event=ref))

    await uow.run(save, flow=Flow.caused_by(envelope))
    await reclassify_status(tenant_id, event.code, event=ref, uow=uow, clock=clock, chunk_size=chunk_size)


async def reclassify_status(tenant_id: str, code: str, *, event: EventRef, uow: UnitOfWork[Tx], clock: Clock,
                            chunk_size: int = DEFAULT_CHUNK) -> int:
    """Recount the items carrying `code` that were counted under another rule than its current one."""
    store = uow.reading().store
    status = (await store.statuses(tenant_id, [code])).get(code)
    current = status.rule if status is not None else UNDEFINED_RULE
    stale = await store.item_ids_counted_under(tenant_id, code, [rule for rule in ALL_RULES if rule != current])
    return await recount(tenant_id, stale, [], event=event, uow=uow, clock=clock, chunk_size=chunk_size)


async def reattribute_client(tenant_id: str, client_id: str, *, event: EventRef, uow: UnitOfWork[Tx], clock: Clock,
                             chunk_size: int = DEFAULT_CHUNK) -> int:
    """Recount a client's items and actions under its current attribution."""
    store = uow.reading().store
    items = await store.item_ids_of_client(tenant_id, client_id)
    actions = await store.action_ids_of_client(tenant_id, client_id)
    return await recount(tenant_id, items, actions, event=event, uow=uow, clock=clock, chunk_size=chunk_size)


async def recount(tenant_id: str, item_ids: Sequence[str], action_ids: Sequence[str], *, event: EventRef,
                  uow: UnitOfWork[Tx], clock: Clock, chunk_size: int = DEFAULT_CHUNK) -> int:
    """Count the given items and actions again with the current facts, one small transaction per chunk;
    returns how many changed. Idempotent: a subject already counted right is left alone."""
    changed, flow = 0, Flow(tenant_id, causation_id=event.event_id)
    for chunk in chunks(item_ids, chunk_size):
        changed += await uow.run(lambda tx, chunk=chunk: _recount_items(
            tenant_id, chunk, event=event, store=tx.store, clock=clock), flow=flow)
    for chunk in chunks(action_ids, chunk_size):
        changed += await uow.run(lambda tx, chunk=chunk: _recount_actions(
            tenant_id, chunk, event=event, store=tx.store, clock=clock), flow=flow)
    return changed


async def _recount_items(tenant_id: str, item_ids: Sequence[str], *, event: EventRef, store: IndicatorStore,
                         clock: Clock) -> int:
    held = await store.held_items(tenant_id, item_ids)
    changes = await count_items(tenant_id, [h.snapshot for h in held.values()], held, store=store)
    changes = [change for change in changes if change.after != change.before]
    if changes:
        await store.record(tenant_id, changes, stamp=Stamp(at=clock.now(), event=event))
    return len(changes)


async def _recount_actions(tenant_id: str, action_ids: Sequence[str], *, event: EventRef, store: IndicatorStore,
                           clock: Clock) -> int:
    held = await store.held_actions(tenant_id, action_ids)
    clients = await store.clients(tenant_id, sorted({h.snapshot.client_id for h in held.values()}))
    changes = [changed(h.snapshot, h.counted, count_action(h.snapshot, client=clients.get(h.snapshot.client_id)))
               for h in held.values()]
    changes = [change for change in changes if change.after != change.before]
    if changes:
        await store.record(tenant_id, changes, stamp=Stamp(at=clock.now(), event=event))
    return len(changes)


async def settle_recent_definitions(*, uow: UnitOfWork[Tx], clock: Clock, since_seconds: float,
                                    chunk_size: int = DEFAULT_CHUNK) -> int:
    """Recount for clients and statuses defined recently: an item event that read the old facts in a
    transaction that committed after the immediate recount is caught here. Returns subjects changed."""
    clients, statuses = await uow.reading().store.recently_defined(clock.now() - timedelta(seconds=since_seconds))
    changed = 0
    for client in clients:
        changed += await reattribute_client(client.tenant_id, client.key, event=client.event, uow=uow, clock=clock,
                                            chunk_size=chunk_size)
    for status in statuses:
        changed += await reclassify_status(status.tenant_id, status.key, event=status.event, uow=uow, clock=clock,
                                           chunk_size=chunk_size)
    return changed
