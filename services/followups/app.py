"""Composition root of the followups service: the one module that picks implementations (MongoDB, GridFS
and HTTP by default; a test's in-memory fakes when it passes `adapters`)."""

import logging
from functools import partial

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.followups.adapters.events import PUBLISHED
from services.followups.adapters.attachments import GridFsFiles
from services.followups.adapters.fetch import HttpFetcher
from services.followups.adapters.migrations import migrate
from services.followups.adapters.store import ensure_indexes, mongo_unit_of_work
from services.followups.api import actions, admin, documents, links, receivables, wizard
from services.followups.api.deps import TenantGate
from services.followups.api.errors import add_error_handlers
from services.followups.api.pages import routes as pages
from services.followups.api.pages.render import STATIC
from services.followups.config import FollowupsSettings
from services.followups.handlers.context import Deps
from services.followups.ports import Adapters
from services.followups.subscribers import subscribe
from services.followups.workers.attachments import sweep_orphan_attachments
from shared.links import LinkKeys
from shared.platform.clock import Clock
from shared.platform.errors import ConfigError
from shared.platform.http import create_http_app
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import load_settings

TITLE = "AR Follow-ups — followups"
DESCRIPTION = ("Clients, items, statuses, the change-status wizard, specific and follow-up actions. "
               "Authenticate with a bearer token; the tenant comes from it.")
log = logging.getLogger(__name__)


def create_app(settings: FollowupsSettings | None = None, *, clock: Clock | None = None,
               adapters: Adapters | None = None) -> FastAPI:
    """The service; given `adapters` it runs offline on them (no database, no broker, no workers)."""
    settings = settings or load_settings(FollowupsSettings)
    runtime = ServiceRuntime(name="followups", settings=settings, clock=clock, offline=adapters is not None)
    app = create_http_app(runtime, title=TITLE, description=DESCRIPTION, wire=partial(wire, given=adapters),
                          routers=[admin.router, receivables.router, wizard.router, actions.router, documents.router,
                                   links.router, pages.router])
    app.mount("/pages-static", StaticFiles(directory=STATIC), name="pages-static")
    add_error_handlers(app)
    return app


async def wire(runtime: ServiceRuntime, app: FastAPI, *, given: Adapters | None = None) -> None:
    """Build the adapters (unless given), then register consumers, workers and the API's dependencies."""
    settings = runtime.settings
    assert isinstance(settings, FollowupsSettings)
    adapters = given or _mongo_adapters(runtime)
    deps = Deps(adapters=adapters, clock=runtime.clock, settings=settings, link_keys=_link_keys(settings))
    app.state.followups = deps
    app.state.tenant_gate = TenantGate()
    runtime.document_publications(PUBLISHED)
    subscribe(runtime, deps)


def _mongo_adapters(runtime: ServiceRuntime) -> Adapters:
    assert runtime.mongo is not None, "the runtime is open"
    db = runtime.db
    adapters = Adapters(uow=mongo_unit_of_work(runtime.mongo, db, runtime.outbox), files=GridFsFiles(db),
                        fetcher=HttpFetcher())
    runtime.on_database_ready(partial(migrate, db))
    runtime.on_database_ready(partial(ensure_indexes, db))
    files, clock = adapters.files, runtime.clock

    async def sweep_attachments() -> None:  # a named function: the runtime names its task after it
        await sweep_orphan_attachments(files, clock)

    runtime.add_worker(sweep_attachments)
    return adapters


def _link_keys(settings: FollowupsSettings) -> LinkKeys | None:
    if settings.link_keys is None:
        log.warning("ARF_LINK_KEYS is not set: internal interactive emails and their pages are unavailable")
        return None
    try:
        return settings.link_key_ring()
    except ValueError as exc:
        raise ConfigError(f"ARF_LINK_KEYS / ARF_LINK_SIGNING_KEY_ID: {exc}") from None
