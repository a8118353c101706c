"""Writing what happened to claimed sends: ledger state, delivery reports and dead letters.

Outcomes are buffered and written in batches: one MongoDB transaction per batch updates the ledger
rows (only where this worker still holds the claim) and stages their EmailDelivered/EmailFailed
in the outbox; a request whose retries ran out is first published to the dead-letter topic. A
write that fails (MongoDB or the broker away) is kept and tried again: an outcome is never lost
while the process lives, and never written twice.
"""

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.mailer.adapters.dead_letters import RequestDeadLetters
from services.mailer.adapters.ledger import Finish, SendLedger
from services.mailer.adapters.reports import DeliveryReports
from services.mailer.config import MailerSettings
from services.mailer.domain import Decision, Outcome, Send, SendState, decide
from services.mailer.metrics import MailerMetrics
from shared.platform.clock import Clock
from shared.platform.mongo import run_in_transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    send: Send
    suppressed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finished:
    job: Job
    outcome: Outcome


class Outcomes:
    def __init__(
        self,
        *,
        ledger: SendLedger,
        reports: DeliveryReports,
        dead_letters: RequestDeadLetters,
        mongo: AsyncMongoClient,
        settings: MailerSettings,
        clock: Clock,
        owner: str,
        metrics: MailerMetrics,
        rng: random.Random,
        due_again: Callable[[str, datetime | None, datetime], None],
    ) -> None:
        self.ledger = ledger
        self.reports = reports
        self.dead_letters = dead_letters
        self.mongo = mongo
        self.settings = settings
        self.clock = clock
        self.owner = owner
        self.metrics = metrics
        self.rng = rng
        self.due_again = due_again  # a send back to pending: tell the dispatcher when it is due
        self.policy = settings.retry_policy()
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
        if len(self.results) >= self.settings.sender_batch_size:
            self.flush_now.set()

    async def run(self) -> None:
        """Write outcomes as they come; when stopping, return after the write under way."""
        failures = 0
        while not self.stopping:
            await wait_briefly(self.flush_now, self.settings.sender_flush_interval_s)
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
        decided = [(finished, self._decide(finished, now)) for finished in batch]
        for finished, decision in decided:
            if decision.dead_letter:
                send = finished.job.send.model_copy(update={"attempts": decision.attempts})
                await self.dead_letters.send(send, reason=decision.note, at=now)
        finishes = [_finish(finished, decision, now, self.owner) for finished, decision in decided]
        envelopes = [
            self.reports.failed(finished.job.send, recipients=report.recipients, kind=report.failure.kind,
                                reason=report.failure.reason, smtp_code=report.failure.smtp_code, at=now)
            if report.failure else self.reports.delivered(finished.job.send, recipients=report.recipients, at=now)
            for finished, decision in decided for report in decision.reports
        ]

        async def work(session: AsyncClientSession) -> None:
            # Reports first: staging touches the outbox's per-client counters, which the relay also
            # writes; touched at the start of the transaction, a concurrent relay write waits for
            # our commit instead of aborting us after the (longer) ledger update.
            await self.reports.stage(session, envelopes)
            await self.ledger.finish(finishes, now=now, session=session)

        await run_in_transaction(self.mongo, work)
        self.reports.committed()
        for finished, decision in decided:
            self.metrics.sends.labels(outcome=decision.state.value).inc()
            if decision.state is SendState.PENDING:
                self.due_again(finished.job.send.send_id, decision.next_attempt_at, now)

    def _decide(self, finished: Finished, now: datetime) -> Decision:
        return decide(finished.job.send, finished.outcome, suppressed=finished.job.suppressed, policy=self.policy,
                      unknown_policy=self.settings.mail_unknown_policy, now=now, rng=self.rng)



async def wait_briefly(event: asyncio.Event, timeout_s: float) -> None:
    """Until the event is set or the timeout passes, whichever comes first; then clear it."""
    try:
        await asyncio.wait_for(event.wait(), timeout_s)
    except TimeoutError:
        pass
    event.clear()


def _finish(finished: Finished, decision: Decision, now: datetime, owner: str) -> Finish:
    fields: dict[str, Any] = {"handled_by": owner}
    if decision.next_attempt_at is not None:
        fields["next_attempt_at"] = decision.next_attempt_at
    if decision.state is SendState.SENT:
        fields["sent_at"] = now
        fields["missed"] = decision.missed
    if decision.failure is not None:
        fields["failure"] = decision.failure.model_dump(mode="python")
    send = finished.job.send
    return Finish(send_id=send.send_id, claim_token=send.claim_token, state=decision.state, note=decision.note,
                  counted=finished.outcome.counts_as_attempt, fields=fields)
