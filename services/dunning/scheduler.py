"""The scheduler: finds the scenario steps and specific actions due, and emits each exactly once.

Safe with several replicas: one holds a lease in MongoDB and runs the passes; and every decision is
written with its outbox events in one transaction that re-reads the items first, so a second runner
(an expired lease, an admin run) finds the items already moved on, or conflicts and re-reads. A
crash mid-pass leaves the uncommitted groups due: the next pass does them, the committed ones never
again.
"""

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from services.dunning.actions import run_action
from services.dunning.adapters.publisher import DunningPublisher
from services.dunning.adapters.store import DunningStore
from services.dunning.domain.decisions import StepRecord, decide_group, group_base, next_group_key
from services.dunning.domain.messages import CompanyProfile
from services.dunning.domain.progress import ItemDue, due_step
from services.dunning.domain.scenarios import Scenario
from services.dunning.remap import remap_tenant
from shared.contracts.dunning import StepOutcome
from shared.contracts.email import EmailRequested
from shared.platform.clock import Clock
from shared.platform.leases import Lease
from shared.platform.mongo import run_in_transaction

log = logging.getLogger(__name__)

GroupKey = tuple[str, str, str]  # client, scenario, step


class StaleBatch(Exception):
    """An item of the batch changed after it was read; nothing of the batch was written."""


@dataclass
class PassReport:
    """What one pass did; the admin endpoint and the benchmark print it."""

    as_of: date
    tenants: int = 0
    due_items: int = 0
    groups: int = 0
    sent: int = 0
    in_agenda: int = 0
    skipped: int = 0
    emails: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0
    waiting_for_client: int = 0
    stopped_early: bool = False
    query_ms: float = 0.0
    seconds: float = 0.0


@dataclass
class SchedulerConfig:
    interval_s: float = 60.0
    batch_groups: int = 200
    parallel_batches: int = 2
    round_items: int = 20000
    default_company_name: str = ""


class Scheduler:
    """One pass at a time per process; across processes, the lease and the per-batch transactions."""

    def __init__(self, *, store: DunningStore, publisher: DunningPublisher, mongo: AsyncMongoClient,
                 clock: Clock, lease: Lease, config: SchedulerConfig) -> None:
        self.store = store
        self.publisher = publisher
        self.mongo = mongo
        self.clock = clock
        self.lease = lease
        self.config = config
        self._running = asyncio.Lock()

    async def run(self) -> None:
        """The worker loop: pass whenever this replica holds the lease."""
        while True:
            if await self.lease.acquire():
                report = await self.run_pass(self.clock.today())
                if report.groups or sum(report.actions.values()):
                    log.info("dunning pass for %s: %s", report.as_of, report)
            await asyncio.sleep(self.config.interval_s)

    async def run_pass(self, as_of: date, *, hold_lease: bool = True, tenant_ids: list[str] | None = None
                       ) -> PassReport:
        """Everything due on `as_of`: scenario steps per tenant, then specific actions (all tenants, or some)."""
        async with self._running:
            started = time.perf_counter()
            report = PassReport(as_of=as_of)
            for tenant_id in tenant_ids if tenant_ids is not None else await self.store.tenants():
                report.tenants += 1
                token = await self.store.remap_token(tenant_id)
                if token is not None:
                    await remap_tenant(tenant_id, store=self.store, token=token)
                if not await self._tenant_pass(tenant_id, as_of, report, hold_lease=hold_lease):
                    report.stopped_early = True
                    break
            if not report.stopped_early:
                await self._actions_pass(as_of, report, tenant_ids)
            report.seconds = time.perf_counter() - started
            return report

    async def _still_leader(self, hold_lease: bool) -> bool:
        return not hold_lease or await self.lease.acquire()

    async def _tenant_pass(self, tenant_id: str, as_of: date, report: PassReport, *, hold_lease: bool) -> bool:
        while True:
            started = time.perf_counter()
            due = await self.find_due(tenant_id, as_of)
            report.query_ms += (time.perf_counter() - started) * 1000
            if not due:
                return True
            report.due_items += len(due)
            groups: dict[GroupKey, list[ItemDue]] = defaultdict(list)
            for scenario, entry in due:
                groups[(entry.item.client_id, scenario.code, entry.step.code)].append(entry)
            keys = sorted(groups)
            batches = [{key: groups[key] for key in keys[start:start + self.config.batch_groups]}
                       for start in range(0, len(keys), self.config.batch_groups)]
            progressed, leader = await self._commit_batches(tenant_id, batches, as_of, report, hold_lease=hold_lease)
            if not leader:
                return False
            if len(due) < self.config.round_items or not progressed:
                return True

    async def _commit_batches(self, tenant_id: str, batches: list[dict[GroupKey, list[ItemDue]]], as_of: date,
                              report: PassReport, *, hold_lease: bool) -> tuple[bool, bool]:
        """Commit the batches, a few at a time: one batch is decided while the database writes another
        (batches hold different clients, so they never touch the same documents)."""
        slots = asyncio.Semaphore(self.config.parallel_batches)
        results: list[bool] = []

        async def commit(batch: dict[GroupKey, list[ItemDue]]) -> None:
            try:
                results.append(await self._commit_batch(tenant_id, batch, as_of, report))
            finally:
                slots.release()

        leader = True
        try:
            async with asyncio.TaskGroup() as running:  # a batch that fails cancels the others in flight
                for batch in batches:
                    await slots.acquire()
                    if not await self._still_leader(hold_lease):
                        leader = False
                        break
                    running.create_task(commit(batch))
        except ExceptionGroup as failed:
            raise failed.exceptions[0]  # what went wrong, as with one batch at a time
        return any(results), leader

    async def find_due(self, tenant_id: str, as_of: date) -> list[tuple[Scenario, ItemDue]]:
        """One indexed query per scenario step: items at that step whose due date makes it due."""
        found: list[tuple[Scenario, ItemDue]] = []
        for scenario in await self.store.scenarios_of(tenant_id):
            for step in scenario.steps:
                room = self.config.round_items - len(found)
                if room <= 0:
                    return found
                items = await self.store.due_items(tenant_id, scenario.code, step.code,
                                                   as_of - timedelta(days=step.offset_days), limit=room)
                found += [(scenario, d) for d in (due_step(i, scenario, as_of) for i in items) if d is not None]
        return found

    async def _commit_batch(self, tenant_id: str, batch: dict[GroupKey, list[ItemDue]], as_of: date,
                            report: PassReport) -> bool:
        outcome: dict[str, Any] = {}
        reread = False

        async def work(session: AsyncClientSession) -> None:
            outcome.clear()
            records, emails = await self._decide(session, tenant_id, batch, as_of, outcome, reread=reread)
            await self.store.insert_records(records, session=session)
            if not await self.store.move_items(tenant_id, outcome.get("moves", []), session=session):
                raise StaleBatch()  # an item changed since it was read: decide again on what is stored now
            await self.publisher.steps_recorded(session, tenant_id, records, emails)
            outcome["records"], outcome["emails"] = records, emails

        try:
            try:
                await run_in_transaction(self.mongo, work)
            except StaleBatch:
                report.conflicts += 1
                reread = True
                await run_in_transaction(self.mongo, work)
        except (DuplicateKeyError, StaleBatch):
            report.conflicts += 1  # another runner recorded these groups first: nothing is sent twice
            return True
        self.publisher.committed()
        records: list[StepRecord] = outcome.get("records", [])
        report.waiting_for_client += outcome.get("waiting_for_client", 0)
        report.groups += len({record.group_key for record in records})
        report.emails += len(outcome.get("emails", []))
        for record in records:
            if record.outcome is StepOutcome.SENT:
                report.sent += len(record.items)
            elif record.outcome is StepOutcome.IN_AGENDA:
                report.in_agenda += len(record.items)
            else:
                report.skipped += len(record.items)
        return bool(records)

    async def _decide(self, session: AsyncClientSession, tenant_id: str, batch: dict[GroupKey, list[ItemDue]],
                      as_of: date, outcome: dict[str, Any], *, reread: bool
                      ) -> tuple[list[StepRecord], list[EmailRequested]]:
        """Decide on the state right before anything goes out: clients and statuses are read in the
        transaction; items as the due query read them, each write conditional on the item being unchanged
        (else the batch is decided again on a fresh read: `reread`)."""
        item_ids = [entry.item.item_id for entries in batch.values() for entry in entries]
        if reread:
            fresh = await self.store.items_by_id(tenant_id, item_ids, session=session)
        else:
            fresh = {entry.item.item_id: entry.item for entries in batch.values() for entry in entries}
        clients = await self.store.clients_by_id(tenant_id, {key[0] for key in batch}, session=session)
        statuses = await self.store.status_rules(tenant_id, session=session)
        scenarios = {s.code: s for s in await self.store.scenarios_of(tenant_id, session=session)}
        company = await self.store.company(tenant_id, session=session) or CompanyProfile(
            name=self.config.default_company_name or tenant_id)
        bases = {key: group_base(tenant_id, key[0], key[1], key[2], as_of) for key in batch}
        used = await self.store.group_keys_used(tenant_id, list(bases.values()), session=session)
        records: list[StepRecord] = []
        emails: list[EmailRequested] = []
        updates: dict[str, dict[str, Any]] = {}
        now = self.clock.now()
        for key, entries in batch.items():
            client_id, scenario_code, step_code = key
            scenario = scenarios.get(scenario_code)
            if scenario is None:
                continue
            still_due = _still_due(entries, fresh, scenario, step_code, as_of)
            if not still_due:
                continue
            client = clients.get(client_id)
            if client is None:
                # Not heard of the client yet (its event is on another topic): without its contacts,
                # language and exclusion flag nothing can be decided; the items stay due until it comes.
                outcome["waiting_for_client"] = outcome.get("waiting_for_client", 0) + len(still_due)
                continue
            group_key = next_group_key(bases[key], used.get(bases[key], set()))
            decision = decide_group(still_due, key=group_key, base_key=bases[key], tenant_id=tenant_id,
                                    client=client, scenario=scenario, statuses=statuses, company=company,
                                    today=as_of, now=now)
            records += decision.records
            updates.update(decision.item_updates)
            if decision.email is not None:
                emails.append(decision.email)
        outcome["moves"] = [(fresh[item_id], fields) for item_id, fields in updates.items()]
        return records, emails

    async def _actions_pass(self, as_of: date, report: PassReport, tenant_ids: list[str] | None) -> None:
        for tenant_id, state in await self.store.actions_to_run(as_of, limit=self.config.round_items):
            if tenant_ids is not None and tenant_id not in tenant_ids:
                continue
            result = await run_action(tenant_id, state.action.action_id, as_of=as_of, store=self.store,
                                      publisher=self.publisher, mongo=self.mongo, clock=self.clock,
                                      default_company=self.config.default_company_name)
            if result is not None:
                report.actions[result] = report.actions.get(result, 0) + 1


def _still_due(entries: Sequence[ItemDue], fresh: dict[str, Any], scenario: Scenario, step_code: str,
               as_of: date) -> list[ItemDue]:
    """The group's items that, as stored now, are still due for this very step."""
    still: list[ItemDue] = []
    for entry in entries:
        item = fresh.get(entry.item.item_id)
        if item is None or item.scenario_code != scenario.code:
            continue
        due = due_step(item, scenario, as_of)
        if due is not None and due.step.code == step_code:
            still.append(due)
    return still
