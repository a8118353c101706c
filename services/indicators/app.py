"""Composition root of the indicators service: builds the app from settings; tests pass overrides."""

from datetime import timedelta
from functools import partial
from typing import Any

from fastapi import FastAPI

from services.indicators import api, handlers
from services.indicators.adapters.history import MongoHistory
from services.indicators.adapters.mongo import MongoIndicatorStore
from services.indicators.adapters.reads import FiguresReader
from services.indicators.config import IndicatorsSettings
from services.indicators.ports import Transact
from services.indicators.workers import close_history, periodically
from shared.contracts.actions import ActionChanged
from shared.contracts.receivables import (
    ClientUpserted,
    ItemsClosed,
    ItemsDetached,
    ItemsReattached,
    ItemStatusChanged,
    ItemStatusDefined,
    ItemsUpserted,
)
from shared.contracts.topics import Stream
from shared.platform.clock import Clock
from shared.platform.consumer import EventRouter
from shared.platform.http import create_http_app
from shared.platform.leases import Lease
from shared.platform.mongo import run_in_transaction
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import load_settings

TITLE = "AR Follow-ups — indicators"
CONSUMER = "indicators"
CHANGES = f"{CONSUMER}.changes"
# These recount many items in transactions of their own: each stream has a group of its own, so a
# long recount never holds up the item and action events.
RECOUNTING = frozenset({Stream.CLIENTS, Stream.STATUS_DEFINITIONS})


def consumer_group(stream: Stream) -> str:
    """The consumer group reading a stream (for `make replay-dlq GROUP=…`): `indicators.changes` for
    the item and action streams, `indicators.<stream>` for clients and status definitions."""
    return f"{CONSUMER}.{stream.value}" if stream in RECOUNTING else CHANGES


def create_app(settings: IndicatorsSettings | None = None, *, clock: Clock | None = None,
               background: bool = True) -> FastAPI:
    """The service; `background=False` leaves out the periodic workers (tests drive them by hand)."""
    settings = settings or load_settings(IndicatorsSettings)
    runtime = ServiceRuntime(name="indicators", settings=settings, clock=clock)

    async def wire_service(runtime: ServiceRuntime, app: FastAPI) -> None:
        await wire(runtime, app, settings=settings, background=background)

    return create_http_app(runtime, title=TITLE, description="Dispute KPIs, recalculated on every change.",
                           routers=[api.router], wire=wire_service)


async def wire(runtime: ServiceRuntime, app: FastAPI, *, settings: IndicatorsSettings, background: bool = True) -> None:
    """Register this service's consumers, workers and API dependencies on the runtime."""
    store, history, reader = MongoIndicatorStore(runtime.db), MongoHistory(runtime.db), FiguresReader(runtime.db)
    runtime.on_database_ready(store.ensure_indexes)
    runtime.on_database_ready(history.ensure_indexes)
    transact: Transact = partial(run_in_transaction, runtime.mongo)  # type: ignore[arg-type]
    clock = runtime.clock

    applying: dict[str, Any] = {"store": store, "clock": clock}
    recounting: dict[str, Any] = {**applying, "transact": transact, "chunk_size": settings.indicators_recount_chunk}
    routes = [
        (ItemsUpserted, partial(handlers.on_items_upserted, **applying), True),
        (ItemsClosed, partial(handlers.on_items_closed, **applying), True),
        (ItemStatusChanged, partial(handlers.on_item_status_changed, **applying), True),
        (ItemsDetached, partial(handlers.on_items_detached, **applying), True),
        (ItemsReattached, partial(handlers.on_items_reattached, **applying), True),
        (ActionChanged, partial(handlers.on_action_changed, **applying), True),
        # These two recount in transactions of their own (groups of their own); versions make them idempotent.
        (ClientUpserted, partial(handlers.on_client_upserted, **recounting), False),
        (ItemStatusDefined, partial(handlers.on_status_defined, **recounting), False),
    ]
    # Item and action events are applied in batches (one transaction, a fixed number of round trips)
    # by ONE group (one member subscribed to their four topics): the aggregates have a single writer,
    # where four groups' long batch transactions on the same tenant aggregate kept conflicting.
    routers: dict[str, EventRouter] = {}
    for payload_cls, handler, transactional in routes:
        group = consumer_group(payload_cls.stream)
        if group not in routers:
            batch_size = settings.indicators_batch_size if transactional else 1
            routers[group] = runtime.event_router(group, batch_size=batch_size)
        routers[group].on(payload_cls, handler, transactional=transactional)

    if background:
        leases = runtime.db["leases"]

        def lease(name: str, interval_s: float) -> Lease:
            return Lease(collection=leases, name=f"indicators-{name}", owner=runtime.instance,
                         ttl=timedelta(seconds=max(3 * interval_s, 30)), clock=clock)

        grace = timedelta(seconds=settings.indicators_history_close_grace_s)
        runtime.add_worker(periodically(
            partial(close_history, history=history, transact=transact, clock=clock, grace=grace),
            name="close_history", interval_s=settings.indicators_history_close_interval_s,
            lease=lease("history", settings.indicators_history_close_interval_s)))
        runtime.add_worker(periodically(
            partial(handlers.settle_recent_definitions, since_seconds=settings.indicators_settle_window_s,
                    **recounting),
            name="settle_recent_definitions", interval_s=settings.indicators_settle_interval_s,
            lease=lease("settle", settings.indicators_settle_interval_s)))

    app.state.indicators = api.IndicatorsApi(reader=reader, history=history, clock=clock, transact=transact,
                                             db=runtime.db)
