"""Composition root of the followups service: builds the app from settings; tests pass overrides."""

import asyncio
import logging
from functools import partial

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.followups.adapters.attachments import ORPHAN_AGE
from services.followups.adapters.events import PUBLISHED, UnitOfWork
from services.followups.adapters.migrations import migrate
from services.followups.adapters.store import Store
from services.followups.api import actions, admin, documents, links, receivables, wizard
from services.followups.api.deps import TenantGate
from services.followups.api.errors import add_error_handlers
from services.followups.config import FollowupsSettings
from services.followups.handlers.context import Deps
from services.followups.pages import routes as pages
from services.followups.pages.render import STATIC
from services.followups.subscribers import subscribe
from shared.links import LinkKeys
from shared.platform.clock import Clock
from shared.platform.errors import ConfigError
from shared.platform.http import create_http_app
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import load_settings

TITLE = "AR Follow-ups — followups"
DESCRIPTION = ("Clients, items, statuses, the change-status wizard, specific and follow-up actions. "
               "Authenticate with a bearer token; the tenant comes from it.")
SWEEP_INTERVAL_S = 3600.0
log = logging.getLogger(__name__)


def create_app(settings: FollowupsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or load_settings(FollowupsSettings)
    runtime = ServiceRuntime(name="followups", settings=settings, clock=clock)
    app = create_http_app(runtime, title=TITLE, description=DESCRIPTION, wire=wire,
                          routers=[admin.router, receivables.router, wizard.router, actions.router, documents.router,
                                   links.router, pages.router])
    app.mount("/pages-static", StaticFiles(directory=STATIC), name="pages-static")
    add_error_handlers(app)
    return app


async def wire(runtime: ServiceRuntime, app: FastAPI) -> None:
    """Register this service's consumers, workers and API dependencies on the runtime."""
    settings = runtime.settings
    assert isinstance(settings, FollowupsSettings)
    store = Store.on(runtime.db)
    deps = Deps(store=store, uow=UnitOfWork(client=runtime.mongo, outbox=runtime.outbox),  # type: ignore[arg-type]
                clock=runtime.clock, settings=settings, link_keys=_link_keys(settings))
    app.state.followups = deps
    app.state.tenant_gate = TenantGate()
    runtime.on_database_ready(partial(migrate, runtime.db))
    runtime.on_database_ready(store.ensure_indexes)
    runtime.document_publications(PUBLISHED)
    subscribe(runtime, deps)

    async def sweep_orphan_attachments() -> None:
        while True:
            removed = await store.attachments.sweep_orphans(older_than=runtime.clock.now() - ORPHAN_AGE)
            if removed:
                log.info("removed %d attachment file(s) no record points to", removed)
            await asyncio.sleep(SWEEP_INTERVAL_S)

    runtime.add_worker(sweep_orphan_attachments)


def _link_keys(settings: FollowupsSettings) -> LinkKeys | None:
    if settings.link_keys is None:
        log.warning("ARF_LINK_KEYS is not set: internal interactive emails and their pages are unavailable")
        return None
    try:
        return settings.link_key_ring()
    except ValueError as exc:
        raise ConfigError(f"ARF_LINK_KEYS / ARF_LINK_SIGNING_KEY_ID: {exc}") from None
