"""Recompute and compare: rebuild every aggregate from the item and action snapshots, and report
any difference from the incremental figures (and, optionally, from the history's sum).

    python -m services.indicators.recompute [--tenant acme] [--repair] [--no-history]

Exits 1 when a difference is found. `--repair` recounts the items counted with stale facts, then
corrects what still differs with `correction` entries in the history; run it while the consumers
are stopped, since a correction computed while events flow may itself be stale.
"""

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

from pydantic import BaseModel, Field
from pymongo.asynchronous.database import AsyncDatabase

from services.indicators import handlers
from services.indicators.adapters.history import MongoHistory
from services.indicators.adapters.mongo import (
    ACTIONS,
    AGGREGATES,
    CLIENTS,
    HISTORY,
    ITEMS,
    STATUSES,
    MongoIndicatorStore,
    aggregate_updates,
    defined,
)
from services.indicators.adapters.reads import FiguresReader
from services.indicators.config import IndicatorsSettings
from services.indicators.domain.facts import (
    ClientFacts,
    CountedAction,
    CountedItem,
    StatusFacts,
    count_action,
    count_item,
)
from services.indicators.domain.figures import EMPTY, AggregateKey, Figures, accumulate, contribution
from services.indicators.domain.history import EventRef, LogEntry
from services.indicators.domain.recompute import Difference, compare
from services.indicators.ports import Session, Stamp, Transact
from shared.contracts.values import ActionSnapshot, ItemSnapshot
from shared.platform.clock import Clock, SystemClock
from shared.platform.mongo import create_mongo_client, database_name, run_in_transaction
from shared.platform.settings import load_settings

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


async def _rebuild(db: AsyncDatabase[Any], tenant_id: str, *, session: Session = None) -> _Rebuilt:
    """Count every item and action afresh from its snapshot and the current facts, streaming."""
    of_tenant = {"tenant_id": tenant_id}
    clients = {doc["client_id"]: ClientFacts.model_validate(doc)
               for doc in defined(await db[CLIENTS].find(of_tenant, session=session).to_list())}
    statuses = {doc["code"]: StatusFacts.model_validate(doc)
                for doc in defined(await db[STATUSES].find(of_tenant, session=session).to_list())}
    totals: dict[AggregateKey, Figures] = {}
    stale_items: list[str] = []
    items = 0
    async for doc in db[ITEMS].find(of_tenant, session=session):
        snapshot = ItemSnapshot.model_validate(doc["snapshot"])
        fresh = count_item(snapshot, client=clients.get(snapshot.client_id),
                           status=statuses.get(snapshot.status_code) if snapshot.status_code else None)
        if fresh != CountedItem.model_validate(doc["counted"]):
            stale_items.append(snapshot.item_id)
        accumulate(totals, contribution(fresh))
        items += 1
    stale_actions: list[str] = []
    actions = 0
    async for doc in db[ACTIONS].find(of_tenant, session=session):
        action = ActionSnapshot.model_validate(doc["snapshot"])
        fresh_action = count_action(action, client=clients.get(action.client_id))
        if fresh_action != CountedAction.model_validate(doc["counted"]):
            stale_actions.append(action.action_id)
        accumulate(totals, contribution(fresh_action))
        actions += 1
    return _Rebuilt(totals=totals, items=items, actions=actions, stale_items=stale_items, stale_actions=stale_actions)


async def _history_sums(db: AsyncDatabase[Any], tenant_id: str, *, session: Session = None
                        ) -> dict[AggregateKey, Figures]:
    totals: dict[AggregateKey, Figures] = {}
    async for doc in db[HISTORY].find({"tenant_id": tenant_id}, session=session):
        accumulate(totals, {AggregateKey(*key): delta for key, delta in LogEntry.model_validate(doc).deltas().items()})
    return totals


async def recompute_and_compare(db: AsyncDatabase[Any], tenant_id: str, *, clock: Clock, check_history: bool = True,
                                repair: bool = False, transact: Transact | None = None) -> RecomputeReport:
    """Rebuild the tenant's aggregates from its snapshots and compare; optionally repair first."""
    if repair:
        if transact is None:
            raise ValueError("repairing needs a transaction runner")
        await _repair(db, tenant_id, clock=clock, transact=transact)

    async def compare_now(session: Session) -> RecomputeReport:
        rebuilt = await _rebuild(db, tenant_id, session=session)
        incremental = await FiguresReader(db).all_aggregates(tenant_id, session=session)
        history = compare(incremental, await _history_sums(db, tenant_id, session=session)) if check_history else None
        return RecomputeReport(
            tenant_id=tenant_id, computed_at=clock.now(), items_checked=rebuilt.items,
            actions_checked=rebuilt.actions, aggregates_checked=len(set(incremental) | set(rebuilt.totals)),
            stale_counts=len(rebuilt.stale_items) + len(rebuilt.stale_actions),
            stale_examples=(rebuilt.stale_items + rebuilt.stale_actions)[:EXAMPLES],
            differences=compare(incremental, rebuilt.totals), history_differences=history, repaired=repair,
        )

    # Snapshots, aggregates and history read in one transaction (one snapshot of the database): read one
    # after the other while events flow, an event applied in between would show as a difference.
    return await transact(compare_now) if transact is not None else await compare_now(None)


def _shortfall(want: dict[AggregateKey, Figures], have: dict[AggregateKey, Figures]) -> dict[AggregateKey, Figures]:
    """Per aggregate, what `have` lacks to equal `want` (aggregates already equal are absent)."""
    return {key: want.get(key, EMPTY) - have.get(key, EMPTY) for key in set(want) | set(have)
            if want.get(key, EMPTY) != have.get(key, EMPTY)}


async def _repair(db: AsyncDatabase[Any], tenant_id: str, *, clock: Clock, transact: Transact) -> None:
    """Recount stale subjects; then bring the aggregates, and the history's sum, to the recomputed values.

    The two corrections differ when a drift never went through the history (an aggregate written
    by hand, a lost entry): the history must end equal to the aggregates, as every as-at read
    and daily closing is built from it."""
    event = EventRef(event_id=f"recompute-{uuid4()}", event_type="indicators.recompute.repair", event_time=clock.now())
    rebuilt = await _rebuild(db, tenant_id)
    await handlers.recount(tenant_id, rebuilt.stale_items, rebuilt.stale_actions, event=event,
                           store=MongoIndicatorStore(db), transact=transact, clock=clock)
    truth = (await _rebuild(db, tenant_id)).totals
    to_aggregates = _shortfall(truth, await FiguresReader(db).all_aggregates(tenant_id))
    to_history = _shortfall(truth, await _history_sums(db, tenant_id))
    stamp = Stamp(at=clock.now(), event=event)

    async def correct(session: Any) -> None:
        if to_aggregates:
            updates = [update for key, figures in sorted(to_aggregates.items())
                       for update in aggregate_updates(tenant_id, key, figures, at=stamp.at,
                                                       event_time=stamp.event.event_time)]
            await db[AGGREGATES].bulk_write(updates, session=session)
        if to_history:
            entries = [LogEntry(at=stamp.at, event=event, subject_kind="correction",
                                subject_id=f"{key.scope}/{key.currency}", scopes=[key.scope],
                                correction={key.currency: dict(figures)})
                       for key, figures in sorted(to_history.items())]
            await db[HISTORY].insert_many([{"tenant_id": tenant_id, **entry.model_dump()} for entry in entries],
                                          session=session)

    if to_aggregates or to_history:
        await transact(correct)


async def _main(args: argparse.Namespace) -> int:
    settings = load_settings(IndicatorsSettings)
    client = create_mongo_client(settings, appname="arf-indicators-recompute")
    db = client[database_name(settings, "indicators")]
    try:
        tenants = [args.tenant] if args.tenant else await MongoHistory(db).tenants()
        clean = True
        for tenant_id in tenants:
            report = await recompute_and_compare(
                db, tenant_id, clock=SystemClock(), check_history=not args.no_history, repair=args.repair,
                transact=lambda work: run_in_transaction(client, work))
            print(json.dumps(report.model_dump(mode="json"), indent=2))
            clean = clean and report.clean
        return 0 if clean else 1
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.indicators.recompute", description=__doc__.split("\n")[0])
    parser.add_argument("--tenant", help="Only this tenant (default: every tenant with figures)")
    parser.add_argument("--repair", action="store_true", help="Recount stale items and correct what differs")
    parser.add_argument("--no-history", action="store_true", help="Skip comparing with the sum of the history")
    return asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
