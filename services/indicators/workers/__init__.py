"""Background loops the runtime keeps running: closing days of history, and settling recounts.

Both run under a lease, so one replica does the work whatever the replica count; both are
idempotent, so a replica taking over half-way repeats nothing visible. A loop only schedules: the
work itself is a handler (`handlers/history.py`, `handlers/definitions.py`).
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

from services.indicators.config import IndicatorsSettings
from services.indicators.handlers.definitions import settle_recent_definitions
from services.indicators.handlers.history import close_history
from services.indicators.ports import Tx
from shared.platform.clock import Clock
from shared.platform.leases import Lease
from shared.ports import UnitOfWork

Worker = Callable[[], Awaitable[None]]
LeaseFor = Callable[[str, float], Lease | None]


def periodically(step: Callable[[], Awaitable[object]], *, name: str, interval_s: float,
                 lease: Lease | None) -> Worker:
    """A worker running `step` every `interval_s` while this replica holds `lease`."""

    async def loop() -> None:
        while True:
            if lease is None or await lease.acquire():
                await step()
            await asyncio.sleep(interval_s)

    loop.__qualname__ = name
    return loop


def workers(*, uow: UnitOfWork[Tx], clock: Clock, settings: IndicatorsSettings, lease: LeaseFor) -> list[Worker]:
    """The service's loops: closing days of history, and the settling pass of recent definitions."""
    grace = timedelta(seconds=settings.indicators_history_close_grace_s)
    close_every, settle_every = settings.indicators_history_close_interval_s, settings.indicators_settle_interval_s
    return [
        periodically(partial(close_history, uow=uow, clock=clock, grace=grace), name="close_history",
                     interval_s=close_every, lease=lease("history", close_every)),
        periodically(partial(settle_recent_definitions, uow=uow, clock=clock,
                             since_seconds=settings.indicators_settle_window_s,
                             chunk_size=settings.indicators_recount_chunk),
                     name="settle_recent_definitions", interval_s=settle_every, lease=lease("settle", settle_every)),
    ]
