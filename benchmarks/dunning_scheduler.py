"""Dunning scheduler at scale: 100 000 items, a pass that finds nothing due, and one that sends 10 000
reminders grouped per client. Prints each figure next to a baseline measured in the same run.

Run: .venv/bin/python benchmarks/dunning_scheduler.py [--clients 2000 --items-per-client 50 --due-per-client 5]
     [--batch-groups 200 --parallel-batches 2]
Uses the test infrastructure selection (given URLs, Docker, or local Tansu + SecantusDB).
"""

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.dunning.adapters.documents import doc_id
from services.dunning.adapters.indexes import ensure_indexes
from services.dunning.adapters.unit_of_work import DunningMongoUnitOfWork
from services.dunning.domain.default_scenario import default_scenario
from services.dunning.domain.scenarios import Scenario
from services.dunning.domain.state import ClientState, ItemState
from services.dunning.workers.scheduler import Scheduler, SchedulerConfig
from shared.contracts.topics import Topics
from shared.contracts.values import Contact, UserRef
from shared.platform.clock import ManualClock
from shared.platform.leases import Lease
from shared.platform.mongo import TYPE_REGISTRY
from shared.platform.outbox import Outbox
from devstack.testing.infra import infrastructure

TENANT = "bench"
DAY = date(2026, 6, 15)


def client_doc(n: int) -> dict[str, Any]:
    client = ClientState(client_id=f"c{n}", number=f"C-{n}", name=f"Client {n}", language="fr", currency="EUR",
                         collector=UserRef(user_id="u1", name="Jean", email="jean@bench.example"),
                         contacts=[Contact(contact_id=f"k{n}", name="AP", email=f"ap@c{n}.example", is_primary=True)],
                         version=1)
    return {"_id": doc_id(TENANT, client.client_id), "tenant_id": TENANT, **client.model_dump()}


def item_doc(client: int, n: int, *, due: date, next_step: str, done: tuple[str, int] | None) -> dict[str, Any]:
    item = ItemState(item_id=f"c{client}-{n}", client_id=f"c{client}", number=f"INV-{client}-{n}",
                     issue_date=due - timedelta(days=30), due_date=due, amount=Decimal("120.00"),
                     open_amount=Decimal("120.00"), currency="EUR", version=1, scenario_code="standard",
                     done_step=done[0] if done else None, done_offset=done[1] if done else None, next_step=next_step)
    return {"_id": doc_id(TENANT, item.item_id), "tenant_id": TENANT, **item.model_dump()}


async def seed(db: AsyncDatabase[Any], uow: DunningMongoUnitOfWork, clients: int, per_client: int,
               due_per_client: int) -> float:
    started = time.perf_counter()
    scenario = Scenario(**default_scenario().model_dump(), tenant_id=TENANT, version=1)
    await uow.reading().scenarios.save_scenario(scenario, at=datetime.now(UTC))
    await db.clients.insert_many([client_doc(c) for c in range(clients)])
    batch: list[dict[str, Any]] = []
    for c in range(clients):
        for n in range(per_client):
            if n < due_per_client:  # courtesy done; the first reminder (D+5) is due on DAY
                batch.append(item_doc(c, n, due=DAY - timedelta(days=5), next_step="first-reminder",
                                      done=("courtesy", -5)))
            else:  # due later: nothing before DAY + 20
                batch.append(item_doc(c, n, due=DAY + timedelta(days=25 + n % 30), next_step="courtesy", done=None))
            if len(batch) == 5000:
                await db.items.insert_many(batch, ordered=False)
                batch = []
    if batch:
        await db.items.insert_many(batch, ordered=False)
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    with infrastructure() as infra:
        print(infra.describe())
        mongo: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url, tz_aware=True, type_registry=TYPE_REGISTRY)
        db = mongo[f"bench_{uuid.uuid4().hex[:8]}_dunning"]
        clock = ManualClock(datetime.combine(DAY, datetime.min.time(), tzinfo=UTC))
        outbox = Outbox(db, source="/services/dunning", topics=Topics("bench."), clock=clock)
        await outbox.ensure_indexes()
        await ensure_indexes(db)
        uow = DunningMongoUnitOfWork(client=mongo, outbox=outbox, db=db)
        total = args.clients * args.items_per_client
        print(f"seeding {total} items for {args.clients} clients ({args.clients * args.due_per_client} due on {DAY})")
        print(f"  seeded in {await seed(db, uow, args.clients, args.items_per_client, args.due_per_client):.1f} s")

        scheduler = Scheduler(uow=uow, clock=clock,
                              lease=Lease(collection=db["leases"], name="bench", owner="bench", ttl=timedelta(minutes=5)),
                              config=SchedulerConfig(batch_groups=args.batch_groups,
                                                     parallel_batches=args.parallel_batches))
        quiet_day = DAY - timedelta(days=1)
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            report = await scheduler.run_pass(quiet_day, tenant_ids=[TENANT])
            timings.append((time.perf_counter() - started) * 1000)
            assert report.due_items == 0, report
        started = time.perf_counter()
        scanned = await db.items.find({"tenant_id": TENANT, "scenario_code": "standard", "next_step": "first-reminder",
                                          "due_date": {"$lte": quiet_day - timedelta(days=5)}}, hint=[("$natural", 1)]).to_list()
        scan_ms = (time.perf_counter() - started) * 1000
        assert scanned == []
        print(f"nothing due: whole pass (5 indexed step queries + actions) median {sorted(timings)[2]:.1f} ms "
              f"(min {min(timings):.1f}); baseline: ONE of those queries as a collection scan {scan_ms:.0f} ms")

        baseline_docs = [{"_id": i, "tenant_id": TENANT, "n": i, "pad": "x" * 200} for i in range(10000)]
        started = time.perf_counter()
        await db["baseline"].insert_many(baseline_docs, ordered=False)
        baseline_s = time.perf_counter() - started

        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        report = await scheduler.run_pass(DAY, tenant_ids=[TENANT])
        send_s = time.perf_counter() - started
        rows = await db.outbox.count_documents({"type": "arf.email.requested.v1"})
        print(f"sending pass: {report.sent} reminders in {report.emails} emails ({report.groups} client groups, "
              f"{rows} email requests in the outbox) in {send_s:.1f} s; due-query time {report.query_ms:.0f} ms "
              f"(batches of {args.batch_groups} groups, {args.parallel_batches} in flight; load average "
              f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores)")
        print(f"  baseline: bare insert_many of 10 000 small documents on the same server {baseline_s:.1f} s")
        again = await scheduler.run_pass(DAY, tenant_ids=[TENANT])
        print(f"re-run of the same day: {again.sent} sent, {again.due_items} due (nothing twice)")
        await mongo.drop_database(db.name)
        await mongo.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--items-per-client", type=int, default=50)
    parser.add_argument("--due-per-client", type=int, default=5)
    parser.add_argument("--batch-groups", type=int, default=SchedulerConfig.batch_groups)
    parser.add_argument("--parallel-batches", type=int, default=SchedulerConfig.parallel_batches)
    asyncio.run(main(parser.parse_args()))
