"""Composition root of the dunning service: builds the app from settings; tests pass overrides."""

from datetime import timedelta
from functools import partial

from fastapi import FastAPI

from services.dunning import api
from services.dunning.adapters.publisher import DunningPublisher
from services.dunning.adapters.store import DunningStore
from services.dunning.agenda import Agenda
from services.dunning.config import DunningSettings
from services.dunning.handlers import on_action_changed, on_client_upserted, on_items_changed, on_status_defined
from services.dunning.scenario_admin import ScenarioAdmin
from services.dunning.scheduler import Scheduler, SchedulerConfig
from shared.contracts.actions import ActionChanged
from shared.contracts.dunning import DunningStepRecorded, ScheduledActionExecuted
from shared.contracts.email import EmailRequested
from shared.contracts.receivables import ITEM_EVENTS, ClientUpserted, ItemStatusDefined
from shared.platform.clock import Clock, SystemClock
from shared.platform.http import create_http_app
from shared.platform.leases import Lease
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import load_settings

TITLE = "AR Follow-ups — dunning"
CONSUMER = "dunning"


def create_app(settings: DunningSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or load_settings(DunningSettings)
    runtime = ServiceRuntime(name="dunning", settings=settings, clock=clock or settings.test_clock())
    app = create_http_app(runtime, title=TITLE, routers=[api.router], wire=partial(wire, settings=settings),
                          description="Collection scenarios, the agenda, and scheduled actions sent once.")
    api.install_error_handlers(app)
    return app


async def wire(runtime: ServiceRuntime, app: FastAPI, *, settings: DunningSettings) -> None:
    """Register this service's consumers, workers and API dependencies on the runtime."""
    store = DunningStore(runtime.db)
    runtime.on_database_ready(store.ensure_indexes)
    publisher = DunningPublisher(runtime.outbox)
    runtime.document_publications([EmailRequested, DunningStepRecorded, ScheduledActionExecuted])

    router = runtime.event_router(CONSUMER)
    deps = {"store": store, "clock": runtime.clock}
    router.on(ClientUpserted, partial(on_client_upserted, **deps))
    for item_event in ITEM_EVENTS:
        router.on(item_event, partial(on_items_changed, **deps))
    router.on(ItemStatusDefined, partial(on_status_defined, **deps))
    router.on(ActionChanged, partial(on_action_changed, **deps))

    assert runtime.mongo is not None
    # The lease expires in real time, whatever clock the scheduler believes in.
    lease = Lease(collection=runtime.db["leases"], name="dunning-scheduler", owner=runtime.instance,
                  ttl=timedelta(seconds=settings.dunning_scheduler_lease_s), clock=SystemClock())
    scheduler = Scheduler(
        store=store, publisher=publisher, mongo=runtime.mongo, clock=runtime.clock, lease=lease,
        config=SchedulerConfig(interval_s=settings.dunning_scheduler_interval_s,
                               batch_groups=settings.dunning_scheduler_batch_groups,
                               parallel_batches=settings.dunning_scheduler_parallel_batches,
                               default_company_name=settings.dunning_company_name),
    )
    if settings.dunning_scheduler_enabled:
        runtime.add_worker(scheduler.run)
    app.state.dunning = api.DunningApi(
        store=store, scheduler=scheduler, clock=runtime.clock, test_mode=settings.dunning_test_mode,
        scenarios=ScenarioAdmin(store=store, mongo=runtime.mongo, clock=runtime.clock),
        agenda=Agenda(store=store, publisher=publisher, mongo=runtime.mongo, clock=runtime.clock,
                      default_company=settings.dunning_company_name),
    )
