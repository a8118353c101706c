"""Recompute and compare: rebuild every aggregate of a tenant from its item and action snapshots,
and report any difference from the incremental figures (and, optionally, from the history's sum).

A repair recounts the items counted with stale facts, then corrects what still differs with
`correction` entries in the history; run it while the consumers are stopped, since a correction
computed while events flow may itself be stale.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import uuid4

from pydantic import BaseModel, Field

from services.indicators.domain.facts import count_action, count_item
from services.indicators.domain.figures import EMPTY, AggregateKey, Figures, accumulate, contribution
from services.indicators.domain.history import EventRef, LogEntry
from services.indicators.domain.rebuild import Difference, compare
from services.indicators.handlers.definitions import recount
from services.indicators.ports import RecomputeReads, Stamp, Tx
from shared.platform.clock import Clock
from shared.ports import Flow, UnitOfWork

EXAMPLES = 20


class RecomputeReport(BaseModel):
    tenant_id: str
    computed_at: datetime
    items_checked: int
    actions_checked: int
    aggregates_checked: int
    stale_counts: int = Field(description="Items or actions counted with facts that have changed since")
    stale_examples: list[str]
    differences: list[Difference] = Field(description="Incremental aggregates that differ from the recompute")
    history_differences: list[Difference] | None = Field(
        None, description="Aggregates (`incremental`) that differ from the sum of the history (`recomputed`); "
                          "None: not checked")
    repaired: bool = False

    @property
    def clean(self) -> bool:
        return not self.stale_counts and not self.differences and not self.history_differences


@dataclass(frozen=True)
class _Rebuilt:
    totals: dict[AggregateKey, Figures]
    items: int
    actions: int
    stale_items: list[str]
    stale_actions: list[str]


async def _rebuild(reads: RecomputeReads, tenant_id: str) -> _Rebuilt:
    """Count every item and action afresh from its snapshot and the current facts, streaming."""
    clients, statuses = await reads.facts(tenant_id)
    totals: dict[AggregateKey, Figures] = {}
    stale_items: list[str] = []
    items = 0
    async for held in reads.all_items(tenant_id):
        snapshot = held.snapshot
        fresh = count_item(snapshot, client=clients.get(snapshot.client_id),
                           status=statuses.get(snapshot.status_code) if snapshot.status_code else None)
        if fresh != held.counted:
            stale_items.append(snapshot.item_id)
        accumulate(totals, contribution(fresh))
        items += 1
    stale_actions: list[str] = []
    actions = 0
    async for held_action in reads.all_actions(tenant_id):
        action = held_action.snapshot
        fresh_action = count_action(action, client=clients.get(action.client_id))
        if fresh_action != held_action.counted:
            stale_actions.append(action.action_id)
        accumulate(totals, contribution(fresh_action))
        actions += 1
    return _Rebuilt(totals=totals, items=items, actions=actions, stale_items=stale_items, stale_actions=stale_actions)


async def _history_sums(reads: RecomputeReads, tenant_id: str) -> dict[AggregateKey, Figures]:
    totals: dict[AggregateKey, Figures] = {}
    async for entry in reads.log(tenant_id):
        accumulate(totals, {AggregateKey(*key): delta for key, delta in entry.deltas().items()})
    return totals


async def recompute_and_compare(tenant_id: str, *, uow: UnitOfWork[Tx], clock: Clock, check_history: bool = True,
                                repair: bool = False) -> RecomputeReport:
    """Rebuild the tenant's aggregates from its snapshots and compare; optionally repair first."""
    if repair:
        await _repair(tenant_id, uow=uow, clock=clock)

    async def compare_now(tx: Tx) -> RecomputeReport:
        reads = tx.recompute_reads
        rebuilt = await _rebuild(reads, tenant_id)
        incremental = await reads.aggregates(tenant_id)
        history = compare(incremental, await _history_sums(reads, tenant_id)) if check_history else None
        return RecomputeReport(
            tenant_id=tenant_id, computed_at=clock.now(), items_checked=rebuilt.items,
            actions_checked=rebuilt.actions, aggregates_checked=len(set(incremental) | set(rebuilt.totals)),
            stale_counts=len(rebuilt.stale_items) + len(rebuilt.stale_actions),
            stale_examples=(rebuilt.stale_items + rebuilt.stale_actions)[:EXAMPLES],
            differences=compare(incremental, rebuilt.totals), history_differences=history, repaired=repair,
        )

    # Snapshots, aggregates and history read in one transaction (one snapshot of the database): read one
    # after the other while events flow, an event applied in between would show as a difference.
    return await uow.run(compare_now, flow=Flow(tenant_id))


def _shortfall(want: dict[AggregateKey, Figures], have: dict[AggregateKey, Figures]) -> dict[AggregateKey, Figures]:
    """Per aggregate, what `have` lacks to equal `want` (aggregates already equal are absent)."""
    return {key: want.get(key, EMPTY) - have.get(key, EMPTY) for key in set(want) | set(have)
            if want.get(key, EMPTY) != have.get(key, EMPTY)}


async def _repair(tenant_id: str, *, uow: UnitOfWork[Tx], clock: Clock) -> None:
    """Recount stale subjects; then bring the aggregates, and the history's sum, to the recomputed values.

    The two corrections differ when a drift never went through the history (an aggregate written
    by hand, a lost entry): the history must end equal to the aggregates, as every as-at read
    and daily closing is built from it."""
    event = EventRef(event_id=f"recompute-{uuid4()}", event_type="indicators.recompute.repair", event_time=clock.now())
    reads = uow.reading().recompute_reads
    rebuilt = await _rebuild(reads, tenant_id)
    await recount(tenant_id, rebuilt.stale_items, rebuilt.stale_actions, event=event, uow=uow, clock=clock)
    truth = (await _rebuild(reads, tenant_id)).totals
    to_aggregates = _shortfall(truth, await reads.aggregates(tenant_id))
    to_history = _shortfall(truth, await _history_sums(reads, tenant_id))
    stamp = Stamp(at=clock.now(), event=event)
    entries = [LogEntry(at=stamp.at, event=event, subject_kind="correction", subject_id=f"{key.scope}/{key.currency}",
                        scopes=[key.scope], correction={key.currency: dict(figures)})
               for key, figures in sorted(to_history.items())]
    if to_aggregates or entries:
        await uow.run(lambda tx: tx.store.correct(tenant_id, to_aggregates, entries, stamp=stamp), flow=Flow(tenant_id))
