"""Composition root of the dunning service: builds the app from settings, on MongoDB and Kafka by
default, or on the adapters a test passes (in-memory fakes: the runtime then connects to nothing)."""

from datetime import timedelta
from functools import partial

from fastapi import FastAPI

from services.dunning import api, subscribers
from services.dunning.adapters.indexes import ensure_indexes
from services.dunning.adapters.unit_of_work import DunningMongoUnitOfWork
from services.dunning.api.deps import DunningApi
from services.dunning.config import DunningSettings
from services.dunning.ports import Adapters
from services.dunning.workers.scheduler import Scheduler, SchedulerConfig
from shared.contracts.dunning import DunningStepRecorded, ScheduledActionExecuted
from shared.contracts.email import EmailRequested
from shared.platform.clock import Clock, SystemClock
from shared.platform.http import create_http_app
from shared.platform.leases import Lease
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import load_settings

TITLE = "AR Follow-ups — dunning"


def create_app(settings: DunningSettings | None = None, *, clock: Clock | None = None,
               adapters: Adapters | None = None) -> FastAPI:
    """The dunning app; with `adapters`, it runs offline on them (no database, no broker, no workers)."""
    settings = settings or load_settings(DunningSettings)
    runtime = ServiceRuntime(name="dunning", settings=settings, clock=clock or settings.test_clock(),
                             offline=adapters is not None)
    app = create_http_app(runtime, title=TITLE, routers=[api.router],
                          wire=partial(wire, settings=settings, adapters=adapters),
                          description="Collection scenarios, the agenda, and scheduled actions sent once.")
    api.install_error_handlers(app)
    return app


async def wire(runtime: ServiceRuntime, app: FastAPI, *, settings: DunningSettings, adapters: Adapters | None) -> None:
    """Register this service's consumers, workers and API dependencies on the runtime."""
    if adapters is None:
        adapters = mongo_adapters(runtime, settings)
        runtime.on_database_ready(partial(ensure_indexes, runtime.db))
    runtime.document_publications([EmailRequested, DunningStepRecorded, ScheduledActionExecuted])
    subscribers.subscribe(runtime, uow=adapters.uow, clock=runtime.clock)
    scheduler = Scheduler(
        uow=adapters.uow, clock=runtime.clock, lease=adapters.lease,
        config=SchedulerConfig(interval_s=settings.dunning_scheduler_interval_s,
                               batch_groups=settings.dunning_scheduler_batch_groups,
                               parallel_batches=settings.dunning_scheduler_parallel_batches,
                               default_company_name=settings.dunning_company_name),
    )
    if settings.dunning_scheduler_enabled:
        runtime.add_worker(scheduler.run)
    app.state.dunning = DunningApi(uow=adapters.uow, scheduler=scheduler, clock=runtime.clock,
                                   test_mode=settings.dunning_test_mode, default_company=settings.dunning_company_name)


def mongo_adapters(runtime: ServiceRuntime, settings: DunningSettings) -> Adapters:
    """The dunning ports on the runtime's MongoDB: the unit of work with its outbox, and the scheduler lease."""
    assert runtime.mongo is not None
    # The lease expires in real time, whatever clock the scheduler believes in.
    lease = Lease(collection=runtime.db["leases"], name="dunning-scheduler", owner=runtime.instance,
                  ttl=timedelta(seconds=settings.dunning_scheduler_lease_s), clock=SystemClock())
    uow = DunningMongoUnitOfWork(client=runtime.mongo, outbox=runtime.outbox, db=runtime.db)
    return Adapters(uow=uow, lease=lease)
