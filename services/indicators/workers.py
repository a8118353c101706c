"""Background work: closing days of history (the daily points of the series), and settling recounts.

Both run under a lease, so one replica does the work whatever the replica count; both are
idempotent, so a replica taking over half-way repeats nothing visible.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from services.indicators.adapters.history import MongoHistory, days_between
from services.indicators.ports import Transact
from shared.platform.clock import Clock
from shared.platform.leases import Lease

log = logging.getLogger(__name__)


async def close_history(*, history: MongoHistory, transact: Transact, clock: Clock, grace: timedelta) -> int:
    """Close every day that ended more than `grace` ago, for every tenant; returns the days closed.

    The grace lets transactions stamped before midnight commit before their day is closed."""
    closable = (clock.now() - grace).date() - timedelta(days=1)
    closed_days = 0
    for tenant_id in await history.tenants():
        closed = await history.closed_through(tenant_id)
        first = closed + timedelta(days=1) if closed else await history.first_day(tenant_id)
        if first is None:
            continue
        for day in days_between(first, closable):
            await transact(lambda session, t=tenant_id, d=day: history.close_day(t, d, session=session))
            closed_days += 1
    if closed_days:
        log.info("closed %d day(s) of history", closed_days)
    return closed_days


def periodically(step: Callable[[], Awaitable[object]], *, name: str, interval_s: float,
                 lease: Lease | None) -> Callable[[], Awaitable[None]]:
    """A worker running `step` every `interval_s` while this replica holds `lease`."""

    async def loop() -> None:
        while True:
            if lease is None or await lease.acquire():
                await step()
            await asyncio.sleep(interval_s)

    loop.__qualname__ = name
    return loop
