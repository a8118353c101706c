"""The scheduler: finds the scenario steps and specific actions due, and emits each exactly once.

Safe with several replicas: one holds a lease and runs the passes; and every decision is written with
its outbox events in one unit of work that re-reads the items first (`handlers/steps.py`), so a second
runner (an expired lease, an admin run) finds the items already moved on, or conflicts and re-reads. A
crash mid-pass leaves the uncommitted groups due: the next pass does them, the committed ones never again.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import date

from services.dunning.domain.passes import Batch, PassReport, batches
from services.dunning.domain.progress import ItemDue
from services.dunning.domain.scenarios import Scenario
from services.dunning.handlers.actions import run_action
from services.dunning.handlers.remap import remap_if_marked
from services.dunning.handlers import steps
from services.dunning.ports import DunningUnitOfWork, SchedulerLease
from shared.platform.clock import Clock

log = logging.getLogger(__name__)


@dataclass
class SchedulerConfig:
    interval_s: float = 60.0
    batch_groups: int = 200
    parallel_batches: int = 2
    round_items: int = 20000
    default_company_name: str = ""


class Scheduler:
    """One pass at a time per process; across processes, the lease and the per-batch units of work."""

    def __init__(self, *, uow: DunningUnitOfWork, clock: Clock, lease: SchedulerLease, config: SchedulerConfig) -> None:
        self.uow = uow
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
            reading = self.uow.reading()
            for tenant_id in tenant_ids if tenant_ids is not None else await reading.scenarios.tenants():
                report.tenants += 1
                await remap_if_marked(tenant_id, reading)
                if not await self._tenant_pass(tenant_id, as_of, report, hold_lease=hold_lease):
                    report.stopped_early = True
                    break
            if not report.stopped_early:
                await self._actions_pass(as_of, report, tenant_ids)
            report.seconds = time.perf_counter() - started
            return report

    async def find_due(self, tenant_id: str, as_of: date) -> list[tuple[Scenario, ItemDue]]:
        """A round of due items of the tenant (at most `round_items`)."""
        return await steps.find_due(tenant_id, as_of, self.uow.reading(), room=self.config.round_items)

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
            progressed, leader = await self._commit_batches(tenant_id, batches(due, self.config.batch_groups), as_of,
                                                            report, hold_lease=hold_lease)
            if not leader:
                return False
            if len(due) < self.config.round_items or not progressed:
                return True

    async def _commit_batches(self, tenant_id: str, pending: list[Batch], as_of: date, report: PassReport, *,
                              hold_lease: bool) -> tuple[bool, bool]:
        """Commit the batches, a few at a time: one batch is decided while the database writes another
        (batches hold different clients, so they never touch the same documents)."""
        slots = asyncio.Semaphore(self.config.parallel_batches)
        results: list[bool] = []

        async def commit(batch: Batch) -> None:
            try:
                results.append(await self._commit_batch(tenant_id, batch, as_of, report))
            finally:
                slots.release()

        leader = True
        try:
            async with asyncio.TaskGroup() as running:  # a batch that fails cancels the others in flight
                for batch in pending:
                    await slots.acquire()
                    if not await self._still_leader(hold_lease):
                        leader = False
                        break
                    running.create_task(commit(batch))
        except ExceptionGroup as failed:
            raise failed.exceptions[0]  # what went wrong, as with one batch at a time
        return any(results), leader

    async def _commit_batch(self, tenant_id: str, batch: Batch, as_of: date, report: PassReport) -> bool:
        outcome = await steps.record_due_steps(tenant_id, batch, as_of, uow=self.uow, clock=self.clock,
                                         default_company=self.config.default_company_name)
        report.conflicts += outcome.conflicts
        decided = outcome.decided
        report.count(decided.records, emails=len(decided.emails), waiting_for_client=decided.waiting_for_client)
        return outcome.progressed

    async def _actions_pass(self, as_of: date, report: PassReport, tenant_ids: list[str] | None) -> None:
        for tenant_id, state in await self.uow.reading().actions.actions_to_run(as_of, limit=self.config.round_items):
            if tenant_ids is not None and tenant_id not in tenant_ids:
                continue
            result = await run_action(tenant_id, state.action.action_id, as_of=as_of, uow=self.uow, clock=self.clock,
                                      default_company=self.config.default_company_name)
            if result is not None:
                report.actions[result] = report.actions.get(result, 0) + 1
