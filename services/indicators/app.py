"""Composition root of the indicators service: the only module that picks implementations (MongoDB by
default; the in-memory fakes a test passes as `adapters`)."""

from datetime import timedelta

from fastapi import FastAPI

from services.indicators import api
from services.indicators.adapters.history import MongoHistory
from services.indicators.adapters.mongo import MongoIndicatorStore
from services.indicators.adapters.reads import FiguresReader
from services.indicators.adapters.transaction import mongo_unit_of_work
from services.indicators.config import IndicatorsSettings
from services.indicators.ports import Adapters
from services.indicators.subscribers import CHANGES, consumer_group, subscribe
from services.indicators.workers import workers
from shared.platform.clock import Clock
from shared.platform.http import create_http_app
from shared.platform.leases import Lease
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import load_settings

__all__ = ["CHANGES", "consumer_group", "create_app", "wire"]
TITLE = "AR Follow-ups — indicators"


def create_app(settings: IndicatorsSettings | None = None, *, clock: Clock | None = None,
               adapters: Adapters | None = None, background: bool = True) -> FastAPI:
    """The service; given `adapters` it runs on them offline (no database, no broker, no worker).
    `background=False` leaves out the periodic workers (tests drive them by hand)."""
    settings = settings or load_settings(IndicatorsSettings)
    runtime = ServiceRuntime(name="indicators", settings=settings, clock=clock, offline=adapters is not None)

    async def wire_service(runtime: ServiceRuntime, app: FastAPI) -> None:
        await wire(runtime, app, settings=settings, background=background, adapters=adapters)

    return create_http_app(runtime, title=TITLE, description="Dispute KPIs, recalculated on every change.",
                           routers=[api.router], wire=wire_service)


def mongo_adapters(runtime: ServiceRuntime) -> Adapters:
    """The service's adapters on its MongoDB database; their indexes are created once it answers."""
    store, history = MongoIndicatorStore(runtime.db), MongoHistory(runtime.db)
    runtime.on_database_ready(store.ensure_indexes)
    runtime.on_database_ready(history.ensure_indexes)
    if runtime.mongo is None:
        raise RuntimeError("the runtime is not open: the database exists inside the app's lifespan")
    return Adapters(uow=mongo_unit_of_work(runtime.mongo, runtime.db, runtime.outbox),
                    figures=FiguresReader(runtime.db), history=history)


async def wire(runtime: ServiceRuntime, app: FastAPI, *, settings: IndicatorsSettings, background: bool = True,
               adapters: Adapters | None = None) -> None:
    """Register this service's consumers, workers and API dependencies on the runtime."""
    adapters = adapters or mongo_adapters(runtime)
    clock = runtime.clock
    subscribe(runtime, uow=adapters.uow, clock=clock, settings=settings)
    if background and not runtime.offline:
        leases = runtime.db["leases"]

        def lease(name: str, interval_s: float) -> Lease:
            return Lease(collection=leases, name=f"indicators-{name}", owner=runtime.instance,
                         ttl=timedelta(seconds=max(3 * interval_s, 30)), clock=clock)

        for worker in workers(uow=adapters.uow, clock=clock, settings=settings, lease=lease):
            runtime.add_worker(worker)
    app.state.indicators = api.IndicatorsApi(reader=adapters.figures, history=adapters.history, uow=adapters.uow,
                                             clock=clock)
