"""Closing days of history: the daily points of the series (run by a worker, under a lease)."""

import logging
from datetime import timedelta

from services.indicators.domain.history import days_between
from services.indicators.ports import Tx
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
            await uow.run(lambda tx, t=tenant_id, d=day: tx.history.close_day(t, d), flow=Flow(tenant_id))
            closed_days += 1
    if closed_days:
        log.info("closed %d day(s) of history", closed_days)
    return closed_days
