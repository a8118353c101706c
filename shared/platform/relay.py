"""The outbox relay: one replica at a time (a lease) publishes committed outbox rows to Kafka.

It wakes on a commit in this process, on a change-stream insert from another replica, or on a
polling sweep, whichever comes first; the sweep alone is enough to catch up after any downtime.
With a memory-only broker (local Tansu) it notices a broker that lost its topics and re-publishes
recent rows: consumers are idempotent, so a second copy changes nothing.
"""

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.platform.clock import Clock
from shared.platform.kafka import KafkaPublisher, ensure_topics, topic_exists
from shared.platform.leases import Lease
from shared.platform.metrics import Metrics
from shared.platform.outbox import Outbox, OutboxRows, record_of
from shared.platform.settings import KafkaSettings, OutboxSettings

log = logging.getLogger(__name__)

BROKER_CHECK_INTERVAL_S = 5.0
PURGE_INTERVAL_S = 600.0


class RelaySettings(OutboxSettings, KafkaSettings):
    """What the relay reads: outbox timing and the broker it publishes to."""


class OutboxRelay:
    def __init__(
        self,
        *,
        db: AsyncDatabase[Any],
        outbox: Outbox,
        publisher: KafkaPublisher,
        settings: RelaySettings,
        metrics: Metrics,
        clock: Clock,
        owner: str,
        topics_to_ensure: list[str],
        marker_topic: str,
    ) -> None:
        self.rows = OutboxRows(db)
        self.outbox = outbox
        self.publisher = publisher
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.lease = Lease(
            collection=db["leases"], name="outbox-relay", owner=owner, ttl=timedelta(seconds=settings.outbox_lease_s)
        )
        self.topics_to_ensure = topics_to_ensure
        self.marker_topic = marker_topic
        self._next_broker_check = 0.0
        self._next_purge = 0.0
        self._failures = 0

    async def run(self) -> None:
        """Relay until cancelled; errors are logged once per streak and retried with backoff."""
        watcher = asyncio.create_task(self._watch_inserts())
        try:
            while True:
                sent = await self._step()
                if sent < self.settings.outbox_batch_size:
                    await self._wait_for_work()
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    async def _step(self) -> int:
        try:
            sent = 0
            if await self.lease.acquire():
                await self._check_broker_reset()
                sent = await self.publish_pending()
                await self._housekeeping()
            if self._failures:
                log.info("outbox relay recovered after %d failed attempts", self._failures)
            self._failures = 0
            return sent
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the relay must outlive any outage
            self._failures += 1
            self._next_broker_check = 0.0  # after an outage, look for a reset broker before publishing
            if self._failures == 1:
                log.warning("outbox relay cannot publish yet: %s", _one_line(exc))
            await asyncio.sleep(min(0.5 * 2 ** min(self._failures, 5), 10.0))
            return 0

    async def publish_pending(self) -> int:
        """Publish one batch of committed rows in key order; returns how many were sent."""
        rows = await self.rows.pending(self.settings.outbox_batch_size)
        if rows:
            await self.publisher.publish_in_order([record_of(row) for row in rows])
            await self.rows.mark_sent(rows, self.clock.now())
            for row in rows:
                self.metrics.events_published.labels(topic=row["topic"]).inc()
        pending, age = await self.rows.lag(self.clock.now())
        self.metrics.outbox_pending.set(pending)
        self.metrics.outbox_lag_seconds.set(age)
        return len(rows)

    async def drain(self, timeout_s: float) -> bool:
        """Publish until nothing is pending (at shutdown); False if rows remain after the timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if not await self.lease.acquire():
                    return True  # another replica relays
                if await self.publish_pending() == 0:
                    return True
            except Exception as exc:
                log.warning("outbox drain interrupted: %s", _one_line(exc))
                await asyncio.sleep(0.5)
        return False

    async def republish_recent(self) -> int:
        """Publish again every row sent within the window, in key order (after a broker reset)."""
        since = self.clock.now() - timedelta(seconds=self.settings.outbox_republish_window_s)
        after: tuple[str, int] | None = None
        total = 0
        while rows := await self.rows.sent_since(since, self.settings.outbox_batch_size, after):
            await self.publisher.publish_in_order([record_of(row) for row in rows])
            total += len(rows)
            after = (rows[-1]["key"], rows[-1]["seq"])
        return total

    async def _check_broker_reset(self) -> None:
        if not self.settings.outbox_republish_on_broker_reset or time.monotonic() < self._next_broker_check:
            return
        self._next_broker_check = time.monotonic() + BROKER_CHECK_INTERVAL_S
        if await topic_exists(self.settings, self.marker_topic):
            return
        await ensure_topics(self.settings, [*self.topics_to_ensure, self.marker_topic])
        count = await self.republish_recent()
        if count:
            log.warning("the broker had lost its topics (restarted?): re-published %d recent events", count)

    async def _housekeeping(self) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + PURGE_INTERVAL_S
        cutoff = self.clock.now() - timedelta(days=self.settings.outbox_retention_days)
        await self.rows.purge_sent_before(cutoff)

    async def _wait_for_work(self) -> None:
        try:
            await asyncio.wait_for(self.outbox.staged.wait(), timeout=self.settings.outbox_poll_interval_s)
        except TimeoutError:
            pass
        self.outbox.staged.clear()

    async def _watch_inserts(self) -> None:
        """Wake the relay when another replica commits rows; the sweep covers any gap in the stream."""
        while True:
            try:
                async with await self.rows.rows.watch([{"$match": {"operationType": "insert"}}]) as stream:
                    async for _change in stream:
                        self.outbox.staged.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(5.0)


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]
