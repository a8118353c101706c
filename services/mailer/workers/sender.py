"""The sender worker: drains the send ledger over a small pool of persistent SMTP connections.

A dispatcher claims due rows in batches (pending → sending, with a claim this worker renews),
checks the suppression list, and queues them; each lane owns one connection, renders, builds and
sends one email at a time (`handlers/delivery.py`); outcomes are written in batches, with their
delivery reports, in one unit of work (`outcomes.py`). Nothing here runs inside a transaction while
talking SMTP, and the Kafka consumer only writes the ledger, so a relay outage never blocks a partition.

A lane that cannot connect backs off (exponential, jittered) without taking rows; when no lane is
connected, the dispatcher stops claiming and hands queued rows back, so no attempt is spent on a
relay that is down. On shutdown, rows not yet tried go back to pending; a row cut off during DATA
is unknown. Rows held by a replica that died are taken over when its claim expires, as unknown:
they may have been sent.
"""

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

from services.mailer.adapters.metrics import MailerMetrics
from services.mailer.config import MailerSettings
from services.mailer.domain.sends import Job, Outcome, Send, Verdict, backoff_delay
from services.mailer.handlers.delivery import Letterhead, deliver, jobs_for
from services.mailer.handlers.outcomes import OutcomeRules
from services.mailer.ports import Adapters, AttachmentSource, SendLedger, SmtpTransport
from services.mailer.workers.outcomes import Outcomes, Pace, wait_briefly
from shared.platform.clock import Clock

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL_S = 5.0
SWEEP_INTERVAL_S = 5.0
FRESH_KEPT = 100_000  # beyond this, new sends wait for a sweep


class Sender:
    """Claims due sends and delivers them over the pool; `Outcomes` writes what happened."""

    def __init__(self, *, adapters: Adapters, settings: MailerSettings, clock: Clock, owner: str,
                 metrics: MailerMetrics, rng: random.Random | None = None) -> None:
        self.adapters = adapters
        self.settings = settings
        self.clock = clock
        self.owner = owner
        self.metrics = metrics
        self.rng = rng or random.Random()
        self.policy = settings.retry_policy()
        self.letterhead = Letterhead(sender_for=settings.sender_for, inbound_domain=settings.mail_inbound_domain,
                                     list_unsubscribe=settings.mail_list_unsubscribe)
        self.poke = asyncio.Event()  # new work, room in the queue, or a lane came up
        # Sends this replica just recorded, claimed by id: a sweep of due rows costs a scan of every
        # pending row on SecantusDB (it sorts in memory), so sweeps only run every few seconds.
        self.fresh: deque[str] = deque(maxlen=FRESH_KEPT)
        self.next_sweep = 0.0
        self._outside = adapters.uow.reading()
        self.outcomes = Outcomes(
            uow=adapters.uow, dead_letters=adapters.dead_letters,
            rules=OutcomeRules(self.policy, settings.mail_unknown_policy),
            pace=Pace(settings.sender_batch_size, settings.sender_flush_interval_s),
            clock=clock, owner=owner, metrics=metrics, rng=self.rng, due_again=self._due_again,
        )
        self._reset()

    @property
    def ledger(self) -> SendLedger:
        """The ledger outside any transaction: claims are single writes of their own."""
        return self._outside.sends

    def _reset(self) -> None:
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.held: dict[str, Send] = {}  # claimed by this worker, no outcome yet (their claims are renewed)
        self.lanes_up: set[int] = set()
        self.attachments: AttachmentSource | None = None
        self.outcomes.reset()

    def notify(self, send_id: str | None = None) -> None:
        """A send is due: claim it by id now (no sweep of the ledger needed), or sweep soon."""
        if send_id is not None:
            self.fresh.append(send_id)
        else:
            self.next_sweep = 0.0
        self.poke.set()

    # -- the worker ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Send until cancelled; on the way out, hand back what was not tried and write every outcome."""
        self._reset()
        self.attachments = self.adapters.attachments()
        lanes = [asyncio.create_task(self._lane(index), name=f"mailer-lane-{index}")
                 for index in range(self.settings.smtp_pool_size)]
        flusher = asyncio.create_task(self.outcomes.run(), name="mailer-flusher")
        try:
            await self._dispatch_forever()
        finally:
            for task in lanes:
                task.cancel()  # each lane lets its transaction under way end, and records it
            await asyncio.gather(*lanes, return_exceptions=True)
            self._hand_back_queued("the mailer is stopping")
            self.outcomes.stop()  # it ends the write it is in (never cut a write: it may say sent)
            await asyncio.gather(flusher, return_exceptions=True)
            self._hand_back_unqueued("the mailer is stopping")
            await self.outcomes.final_flush()
            await self.attachments.close()

    async def _dispatch_forever(self) -> None:
        next_maintenance = 0.0
        failures = 0
        while True:
            try:
                if time.monotonic() >= next_maintenance:
                    await self._maintain()
                    next_maintenance = time.monotonic() + MAINTENANCE_INTERVAL_S
                claimed = await self._dispatch_once()
                failures = 0
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.error("the sender cannot read the ledger: %s; retrying", exc)
                await asyncio.sleep(min(failures, 5))
                continue
            if not claimed:
                await wait_briefly(self.poke, self.settings.sender_poll_interval_s)

    async def _dispatch_once(self) -> int:
        if not self.lanes_up:
            self._hand_back_queued("no connection to the relay")
            return 0
        batch = self.settings.sender_batch_size
        if self.queue.qsize() > batch // 2:
            return 0
        now = self.clock.now()
        until = self._claim_until(now)
        if self.fresh and time.monotonic() < self.next_sweep:
            ids = [self.fresh.popleft() for _ in range(min(batch, len(self.fresh)))]
            sends = await self._claimed(self.ledger.claim_ids(ids, owner=self.owner, now=now, until=until))
        else:  # retries due, rows of a replica that stopped, rows handed back: a sweep finds them
            self.next_sweep = time.monotonic() + SWEEP_INTERVAL_S
            sends = await self._claimed(self.ledger.claim_due(owner=self.owner, limit=batch, now=now, until=until))
        if sends:
            await self._enqueue(sends)
        return len(sends) or (1 if self.fresh else 0)

    async def _enqueue(self, sends: list[Send]) -> None:
        try:
            jobs = await jobs_for(sends, self._outside.suppressions)
        except Exception:
            for send in sends:  # never send unchecked: hand them back for a later claim
                self._record(Job(send), Outcome(Verdict.TEMPORARY, "the suppression list could not be read",
                                                counts_as_attempt=False))
            raise
        for job in jobs:
            self.queue.put_nowait(job)

    async def _maintain(self) -> None:
        """Renew our claims; take over rows whose holder died, and rows past the retry budget."""
        now = self.clock.now()
        until = self._claim_until(now)
        await self.ledger.renew(list(self.held), owner=self.owner, until=until)
        batch = self.settings.sender_batch_size
        for send in await self._claimed(self.ledger.claim_abandoned(owner=self.owner, limit=batch, now=now,
                                                                    until=until)):
            self._record(Job(send), Outcome(
                Verdict.UNKNOWN, "the mailer holding this send stopped during it: it may or may not have been "
                                 "delivered", counts_as_attempt=False))
        due_before = now - self.policy.max_age
        for send in await self._claimed(self.ledger.claim_overdue(owner=self.owner, limit=batch,
                                                                  due_before=due_before, now=now, until=until)):
            self._record(Job(send), Outcome(Verdict.TEMPORARY, "not delivered within the retry budget",
                                            counts_as_attempt=False))

    async def _claimed(self, claim: Awaitable[list[Send]]) -> list[Send]:
        """Run a claim to its end even if we are stopping, so no row is claimed without us knowing
        (a row we know of is handed back on the way out; one we lost would wait for its claim to expire)."""
        task = asyncio.ensure_future(claim)
        try:
            sends = await asyncio.shield(task)
        except asyncio.CancelledError:
            done, _ = await asyncio.wait([task], timeout=self.settings.smtp_timeout_s)
            if done and not task.cancelled() and task.exception() is None:
                self.held.update({send.send_id: send for send in task.result()})
            raise
        self.held.update({send.send_id: send for send in sends})
        return sends

    def _claim_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.settings.sender_claim_s)

    def _hand_back_queued(self, reason: str) -> None:
        while not self.queue.empty():
            self._record(self.queue.get_nowait(), Outcome(Verdict.TEMPORARY, reason, counts_as_attempt=False))

    def _hand_back_unqueued(self, reason: str) -> None:
        """Claimed rows never queued (stopped mid-claim); call once the lanes and the queue are done."""
        for send in list(self.held.values()):
            self._record(Job(send), Outcome(Verdict.TEMPORARY, reason, counts_as_attempt=False))

    # -- lanes: one connection each -------------------------------------------------------------

    async def _lane(self, index: int) -> None:
        connection = self.adapters.connect()
        failures = 0
        try:
            while True:
                if not await connection.usable():
                    try:
                        await connection.open()
                    except Exception as exc:
                        failures += 1
                        self._lane_down(index, exc, failures)
                        await asyncio.sleep(backoff_delay(failures, initial_s=self.settings.smtp_reconnect_initial_s,
                                                          max_s=self.settings.smtp_reconnect_max_s, rng=self.rng))
                        continue
                    failures = 0
                    self._lane_up(index)
                job = await self.queue.get()
                if self.queue.qsize() <= self.settings.sender_batch_size // 2:
                    self.poke.set()
                if not await connection.usable():
                    self.queue.put_nowait(job)
                    continue
                await self._send_one(connection, job)
        finally:
            connection.close()
            self.lanes_up.discard(index)

    async def _send_one(self, connection: SmtpTransport, job: Job) -> None:
        started = time.perf_counter()
        delivery = asyncio.ensure_future(self._deliver(connection, job))
        try:
            outcome, transacted = await asyncio.shield(delivery)
        except asyncio.CancelledError:
            self._record(job, await self._finish_while_stopping(connection, delivery))
            raise
        except Exception as exc:  # a bug must not lose the row: count an attempt and retry later
            log.exception("unexpected error sending %s", job.send.send_id)
            outcome, transacted = Outcome(Verdict.TEMPORARY, f"unexpected error: {exc!r}"), True
        self.metrics.send_seconds.observe(time.perf_counter() - started)
        self._record(job, outcome)
        if transacted and (outcome.verdict is not Verdict.DELIVERED or connection.worn_out):
            await connection.quit()  # a fresh connection after any failed transaction, and every N messages

    async def _finish_while_stopping(self, connection: SmtpTransport, delivery: "asyncio.Future[Any]") -> Outcome:
        """Stopping: let the transaction under way end (sent or refused beats unknown), within the
        SMTP timeout; cut off during DATA it is unknown, before DATA it was not tried."""
        try:
            outcome, _ = await asyncio.wait_for(asyncio.shield(delivery), self.settings.smtp_timeout_s)
            return outcome
        except TimeoutError:
            in_data = connection.in_data
            delivery.cancel()
            await asyncio.gather(delivery, return_exceptions=True)
            if in_data:
                return Outcome(Verdict.UNKNOWN, "the mailer stopped during DATA: delivery unknown")
            return Outcome(Verdict.TEMPORARY, "the mailer stopped before sending", counts_as_attempt=False)
        except Exception as exc:
            return Outcome(Verdict.TEMPORARY, f"unexpected error: {exc!r}")

    async def _deliver(self, connection: SmtpTransport, job: Job) -> tuple[Outcome, bool]:
        assert self.attachments is not None
        return await deliver(job, transport=connection, attachments=self.attachments, letterhead=self.letterhead,
                             now=self.clock.now())

    def _lane_up(self, index: int) -> None:
        if not self.lanes_up:
            log.info("connected to the SMTP relay %s:%s", self.settings.smtp_host, self.settings.smtp_port)
        self.lanes_up.add(index)
        self.poke.set()

    def _lane_down(self, index: int, exc: BaseException, failures: int) -> None:
        was_up = bool(self.lanes_up)
        self.lanes_up.discard(index)
        self.metrics.smtp_connect_failures.inc()
        if failures == 1 and (was_up or index == 0):
            log.error("cannot connect to the SMTP relay %s:%s: %s; retrying with backoff",
                      self.settings.smtp_host, self.settings.smtp_port, str(exc) or type(exc).__name__)

    # -- outcomes --------------------------------------------------------------------------------

    def _record(self, job: Job, outcome: Outcome) -> None:
        # No longer renewed from here: the outcome is written within moments, and a renewal touching
        # a row inside that write's transaction would abort it.
        self.held.pop(job.send.send_id, None)
        self.outcomes.record(job, outcome)

    def _due_again(self, send_id: str, at: datetime | None, now: datetime) -> None:
        """A send handed back is claimed again by id; a retry is found by a sweep when it is due."""
        if at is None:
            self.fresh.append(send_id)
        else:
            self.next_sweep = min(self.next_sweep, time.monotonic() + max((at - now).total_seconds(), 0.0))
