"""Median cost of applying one event, with a small and a large portfolio in the tenant.

    .venv/bin/python benchmarks/indicators_event_cost.py [--sizes 10000,1000000] [--events 300]
        [--batch 200] [--batches 15]

For each size, a fresh database gets a tenant of that many items (bulk-loaded straight into the
service's collections, with consistent aggregates), then status-change events of one item each go
through the service's real consumer path (envelope decoding, processed-event record, transaction,
reads by id, $inc on the aggregates, history append): the median and p90 per event are printed
next to the smallest portfolio's, measured in the same run. The ratio should be close to 1.
Then the same events in batches of `--batch` (one transaction each, as the batched consumer reads
them): the median cost per event of a batch, per size.
Uses KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL when set, else starts the local default processes.
"""

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi import FastAPI  # noqa: E402
from pymongo import InsertOne, UpdateOne  # noqa: E402

from services.indicators.adapters.mongo import (  # noqa: E402
    AGGREGATES,
    CLIENTS,
    STATUSES,
    MongoIndicatorStore,
    aggregate_updates,
    doc_id,
)
from services.indicators.adapters.history import MongoHistory  # noqa: E402
from services.indicators.app import CHANGES, wire  # noqa: E402
from services.indicators.config import IndicatorsSettings  # noqa: E402
from services.indicators.domain.facts import ClientFacts, StatusFacts, count_item  # noqa: E402
from services.indicators.domain.figures import AggregateKey, Figures, accumulate, contribution  # noqa: E402
from services.indicators.domain.history import EventRef  # noqa: E402
from services.indicators.ports import Stamp  # noqa: E402
from shared.contracts.envelope import Envelope  # noqa: E402
from shared.contracts.receivables import ItemStatusChanged  # noqa: E402
from shared.contracts.values import ActionType, ItemSnapshot, StatusCategory  # noqa: E402
from shared.platform.inbox import ProcessedEvents  # noqa: E402
from shared.platform.kafka import RawRecord  # noqa: E402
from shared.platform.runtime import ServiceRuntime  # noqa: E402
from devstack.testing.infra import infrastructure  # noqa: E402

TENANT = "bench"
ITEMS_PER_CLIENT = 20
BATCH = 5000
NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
STATUSES_DEFINED = [
    StatusFacts(code="price_dispute", category=StatusCategory.DISPUTE, counts_as_dispute=True, version=1),
    StatusFacts(code="promise_to_pay", category=StatusCategory.PROMISE, counts_as_dispute=False, version=1),
]


def client_of(n: int) -> ClientFacts:
    return ClientFacts(client_id=f"c{n}", entity_id=f"e{n % 3}", group_id=f"g{n // 4}" if n % 2 else None,
                       collector_id=f"u{n % 50}", version=1)


def snapshot(n: int, version: int = 1, **changes: Any) -> ItemSnapshot:
    issue = date(2026, 8, 1) + timedelta(days=n % 90)
    values: dict[str, Any] = dict(
        item_id=f"i{n}", client_id=f"c{n // ITEMS_PER_CLIENT}", number=f"INV-{n}", issue_date=issue,
        due_date=issue + timedelta(days=30), amount=Decimal(100 + n % 900), open_amount=Decimal(100 + n % 900),
        currency="EUR" if n % 10 else "USD", version=version, changed_at=NOW)
    values.update(changes)
    return ItemSnapshot(**values)


async def load_portfolio(db: Any, size: int) -> None:
    """Items with their counts, clients, statuses and the matching aggregates, in bulk."""
    store = MongoIndicatorStore(db)
    clients = {c.client_id: c for c in (client_of(n) for n in range((size + ITEMS_PER_CLIENT - 1) // ITEMS_PER_CLIENT))}
    statuses = {s.code: s for s in STATUSES_DEFINED}
    stamp = Stamp(at=NOW, event=EventRef(event_id="load", event_type="benchmark.load", event_time=NOW))
    for start in range(0, len(clients), BATCH):
        batch = list(clients.values())[start:start + BATCH]
        await db[CLIENTS].insert_many([{"_id": doc_id(TENANT, c.client_id), "tenant_id": TENANT, **c.model_dump(),
                                        "changed_at": NOW - timedelta(days=1), "event": stamp.event.model_dump()}
                                       for c in batch])
    await db[STATUSES].insert_many([{"_id": doc_id(TENANT, s.code), "tenant_id": TENANT, **s.model_dump(),
                                     "changed_at": NOW - timedelta(days=1), "event": stamp.event.model_dump()}
                                    for s in statuses.values()])
    totals: dict[AggregateKey, Figures] = {}
    started = time.perf_counter()
    for start in range(0, size, BATCH):
        docs = []
        for n in range(start, min(start + BATCH, size)):
            code = "promise_to_pay" if n % 7 == 0 else None
            snap = snapshot(n, status_code=code)
            counted = count_item(snap, client=clients[snap.client_id], status=statuses.get(code or ""))
            accumulate(totals, contribution(counted))
            docs.append(InsertOne({"_id": doc_id(TENANT, snap.item_id), "tenant_id": TENANT, "item_id": snap.item_id,
                                   "client_id": snap.client_id, "version": 1, "snapshot": snap.model_dump(),
                                   "counted": counted.model_dump(), "updated_at": NOW}))
        await store.items.bulk_write(docs, ordered=False)
        done = min(start + BATCH, size)
        rate = done / (time.perf_counter() - started)
        print(f"  loaded {done:>9,} items ({rate:,.0f}/s)", end="\r", flush=True)
    print()
    updates: list[UpdateOne] = [update for key, figures in totals.items() for update in aggregate_updates(
        TENANT, key, figures, at=stamp.at, event_time=stamp.event.event_time)]
    for start in range(0, len(updates), BATCH):
        await db[AGGREGATES].bulk_write(updates[start:start + BATCH], ordered=False)


class Portfolio:
    """One tenant of `size` items in its own database, with the service's consumer of status changes."""

    def __init__(self, infra: Any, size: int) -> None:
        self.size = size
        self.settings = IndicatorsSettings(
            kafka_bootstrap_servers=infra.kafka_bootstrap_servers, mongodb_url=infra.mongodb_url,
            mongodb_database=f"bench_indicators_{size}_{random.randrange(10**6)}",
            kafka_enable_idempotence=infra.kafka_idempotence)
        self.runtime = ServiceRuntime(name="indicators", settings=self.settings)
        self.rng = random.Random(size)
        self.sent = 0
        self.costs: list[float] = []
        self.batch_costs: list[float] = []

    async def open(self) -> None:
        await self.runtime.open()
        await wire(self.runtime, FastAPI(), settings=self.settings, background=False)
        db = self.runtime.db
        await MongoIndicatorStore(db).ensure_indexes()
        await MongoHistory(db).ensure_indexes()
        await ProcessedEvents(db, ttl=timedelta(days=14)).ensure_indexes()
        print(f"portfolio of {self.size:,} items:")
        await load_portfolio(db, self.size)
        self.router = next(r for r in self.runtime.routers if r.consumer == CHANGES)

    def record(self) -> RawRecord:
        """One status change of one random item (to a dispute held by a follow-up, or to a promise)."""
        n, offset = self.rng.randrange(self.size), self.sent
        self.sent += 1
        code = "price_dispute" if offset % 2 == 0 else "promise_to_pay"
        held: dict[str, Any] = {}
        if code == "price_dispute":
            held = {"held_by_action_id": "f1", "held_by_action_type": ActionType.FOLLOW_UP}
        event = ItemStatusChanged(client_id=f"c{n // ITEMS_PER_CLIENT}", status_code=code, items=[
            snapshot(n, version=2 + offset, status_code=code, status_since=NOW, **held)])
        envelope = Envelope.wrap(event, tenant_id=TENANT, key_id=event.client_id, source="/benchmarks")
        return RawRecord(topic="arf.item-statuses", partition=0, offset=offset, key=envelope.partitionkey.encode(),
                         value=envelope.kafka_value(), headers=envelope.kafka_headers())

    async def apply_one(self) -> float:
        record = self.record()
        started = time.perf_counter()
        await self.router.consume(record)
        return time.perf_counter() - started

    async def apply_batch(self, size: int) -> float:
        """A batch of `size` such events in one transaction (the batched consumer); cost per event."""
        records = [self.record() for _ in range(size)]
        started = time.perf_counter()
        await self.router.consume_batch(records)
        return (time.perf_counter() - started) / size

    async def close(self) -> None:
        await self.runtime.mongo.drop_database(self.settings.mongodb_database)  # type: ignore[union-attr]
        await self.runtime.mongo.close()  # type: ignore[union-attr]


async def main(sizes: list[int], events: int, batch: int, batches: int) -> None:
    with infrastructure() as infra:
        print(infra.describe())
        portfolios = [Portfolio(infra, size) for size in sizes]
        try:
            for portfolio in portfolios:
                await portfolio.open()
            warm_up = min(20, events // 10)
            # Round robin: the machine's background load weighs the same on every portfolio.
            for round_ in range(events + warm_up):
                for portfolio in portfolios:
                    cost = await portfolio.apply_one()
                    if round_ >= warm_up:
                        portfolio.costs.append(cost)
            for round_ in range(batches + 1):
                for portfolio in portfolios:
                    cost = await portfolio.apply_batch(batch)
                    if round_ >= 1:
                        portfolio.batch_costs.append(cost)
        finally:
            for portfolio in portfolios:
                await portfolio.close()
    baseline = statistics.median(portfolios[0].costs)
    print(f"\none status-change event (one item) through the consumer path, {events} events per size, "
          "sizes interleaved:")
    print(f"{'items in tenant':>16} {'median ms':>10} {'p90 ms':>8} {'vs baseline':>12}")
    for portfolio in portfolios:
        median, p90 = statistics.median(portfolio.costs), statistics.quantiles(portfolio.costs, n=10)[-1]
        print(f"{portfolio.size:>16,} {median * 1000:>10.2f} {p90 * 1000:>8.2f} {median / baseline:>11.2f}x")
    if batches:
        baseline = statistics.median(portfolios[0].batch_costs)
        print(f"\nthe same events in batches of {batch} (one transaction each), {batches} batches per size:")
        print(f"{'items in tenant':>16} {'ms/event':>10} {'ms/batch':>10} {'vs baseline':>12}")
        for portfolio in portfolios:
            median = statistics.median(portfolio.batch_costs)
            print(f"{portfolio.size:>16,} {median * 1000:>10.2f} {median * batch * 1000:>10.0f} "
                  f"{median / baseline:>11.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,1000000", help="Comma-separated portfolio sizes (first = baseline)")
    parser.add_argument("--events", type=int, default=300, help="Events measured per size, one at a time")
    parser.add_argument("--batch", type=int, default=200, help="Events per batch")
    parser.add_argument("--batches", type=int, default=15, help="Batches measured per size (0: none)")
    args = parser.parse_args()
    asyncio.run(main([int(s) for s in args.sizes.split(",")], args.events, args.batch, args.batches))
