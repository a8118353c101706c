"""Closing days of history: the daily points of the series (run by a worker, under a lease)."""

import logging
from datetime import date, timedelta

from services.indicators.domain.history import day_sums, days_between
from services.indicators.ports import HistoryLog, Tx
from shared.platform.clock import Clock
from shared.ports import Flow, UnitOfWork

log = logging.getLogger(__name__)


async def close_history(*, uow: UnitOfWork[Tx], clock: Clock, grace: timedelta) -> int:
    """Close every day that ended more than `grace` ago, for every tenant; returns the days closed.

    The grace lets transactions stamped before midnight commit before their day is closed."""
    closable = (clock.now() - grace).date() - timedelta(days=1)
    history = uow.reading().history
    closed_days = 0
    for tenant_id in await history.tenants():
        closed = await history.closed_through(tenant_id)
        first = closed + timedelta(days=1) if closed else await history.first_day(tenant_id)
        if first is None:
            continue
        for day in days_between(first, closable):
            await uow.run(lambda tx, t=tenant_id, d=day: close_day(t, d, history=tx.history), flow=Flow(tenant_id))
            closed_days += 1
    if closed_days:
        log.info("closed %d day(s) of history", closed_days)
    return closed_days


async def close_day(tenant_id: str, day: date, *, history: HistoryLog) -> int:
    """Close one day (all or nothing, in the transaction of `history`); returns the scopes it touched.
    A day already closed is left alone, so a retried or concurrent closing changes nothing."""
    closed = await history.closed_through(tenant_id)
    if closed and closed >= day:
        return 0
    if closed and closed < day - timedelta(days=1):
        raise ValueError(f"day {day} cannot close before {closed + timedelta(days=1)}")
    sums = day_sums(await history.day_entries(tenant_id, day))
    await history.save_closing(tenant_id, day, sums)
    return len({scope for scope, _ in sums})
