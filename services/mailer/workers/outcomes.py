"""The sender's outcome writer: outcomes are buffered and written in batches (`handlers/outcomes.py`:
one unit of work per batch). A write that fails (MongoDB or the broker away) is kept and tried
again: an outcome is never lost while the process lives, and never written twice.
"""

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.mailer.adapters.metrics import MailerMetrics
from services.mailer.domain.sends import Finished, Job, Outcome, SendState
from services.mailer.handlers.outcomes import OutcomeRules, record_outcomes
from services.mailer.ports import MailerTx, RequestDeadLetters
from shared.platform.clock import Clock
from shared.ports import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pace:
    """How outcomes are batched: a write once `batch_size` are waiting, or after `flush_interval_s`."""

    batch_size: int
    flush_interval_s: float


class Outcomes:
    """Buffers the outcomes of the sender's lanes and writes them in batches."""

    def __init__(self, *, uow: UnitOfWork[MailerTx], dead_letters: RequestDeadLetters, rules: OutcomeRules,
                 pace: Pace, clock: Clock, owner: str, metrics: MailerMetrics, rng: random.Random,
                 due_again: Callable[[str, datetime | None, datetime], None]) -> None:
        self.uow = uow
        self.dead_letters = dead_letters
        self.rules = rules
        self.pace = pace
        self.clock = clock
        self.owner = owner
        self.metrics = metrics
        self.rng = rng
        self.due_again = due_again  # a send back to pending: tell the dispatcher when it is due
        self.reset()

    def reset(self) -> None:
        self.results: list[Finished] = []
        self.flush_now = asyncio.Event()
        self.stopping = False

    def stop(self) -> None:
        """`run` returns after the write under way (if any)."""
        self.stopping = True
        self.flush_now.set()

    def record(self, job: Job, outcome: Outcome) -> None:
        self.results.append(Finished(job, outcome))
        if len(self.results) >= self.pace.batch_size:
            self.flush_now.set()

    async def run(self) -> None:
        """Write outcomes as they come; when stopping, return after the write under way."""
        failures = 0
        while not self.stopping:
            await wait_briefly(self.flush_now, self.pace.flush_interval_s)
            if not self.results:
                continue
            batch, self.results = self.results, []
            try:
                await self._write(batch)
                failures = 0
            except Exception as exc:  # MongoDB or the broker away: keep the outcomes and try again
                self.results = batch + self.results
                failures += 1
                if failures == 1:
                    log.error("cannot record %d send outcomes yet: %s; retrying", len(batch), exc)
                if not self.stopping:
                    await asyncio.sleep(min(0.5 * failures, 5.0))

    async def final_flush(self) -> None:
        for attempt in range(5):
            if not self.results:
                return
            batch, self.results = self.results, []
            try:
                await self._write(batch)
            except Exception as exc:
                self.results = batch + self.results
                log.warning("send outcomes not recorded at shutdown (attempt %d): %s", attempt + 1, exc)
                await asyncio.sleep(0.5)
        if self.results:
            log.error("%d send outcomes lost at shutdown: their claims expire and they become unknown",
                      len(self.results))

    async def _write(self, batch: list[Finished]) -> None:
        now = self.clock.now()
        decisions = await record_outcomes(batch, uow=self.uow, dead_letters=self.dead_letters, rules=self.rules,
                                          owner=self.owner, now=now, rng=self.rng)
        for finished, decision in zip(batch, decisions, strict=True):
            self.metrics.sends.labels(outcome=decision.state.value).inc()
            if decision.state is SendState.PENDING:
                self.due_again(finished.job.send.send_id, decision.next_attempt_at, now)


async def wait_briefly(event: asyncio.Event, timeout_s: float) -> None:
    """Until the event is set or the timeout passes, whichever comes first; then clear it.

    Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that arrives as the event is set
    (the event is set all the time under load), and the worker would then never stop."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait([waiter], timeout=timeout_s)
    finally:
        waiter.cancel()
    event.clear()
