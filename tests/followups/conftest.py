"""One followups service per test session and backend; each test works in a tenant of its own, which is
also how the service keeps tenants apart. Every event the service publishes is collected.

Backends: `memory` (the app on the fakes, no server: unit) and `mongo` (served over HTTP on the real broker
and database: integration). A test of what only the real stack shows says `@pytest.mark.real_stack` and
runs on `mongo` alone; a test of a rule refused before anything is stored, whose reads and writes the contract
tests (test_contracts.py) hold to MongoDB's, says `@pytest.mark.fakes_suffice` and runs on `memory` alone.
"""

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.processes import free_port
from services.followups.app import create_app
from services.followups.config import FollowupsSettings
from shared.contracts.topics import Topics
from shared.platform.clock import ManualClock
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation, serve_app, service_settings
from tests.followups.fakes import fakes
from tests.followups.helpers import (
    INBOUND,
    LINK_KEYS,
    LINK_POSTS_PER_MINUTE,
    Api,
    EventLog,
    MemoryEventLog,
    Service,
)

TODAY = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
ATTACHMENT_LIMIT = 64 * 1024
IMPORT_LIMIT = 1024 * 1024  # a whole import body (the service default is 256 MiB)
OFFLINE_URL = "http://followups.test"
BACKENDS = [pytest.param("memory", id="memory"),
            pytest.param("mongo", id="mongo", marks=pytest.mark.integration)]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_stack: runs on the real broker and database only (what fakes "
                                       "cannot show: the broker's documents, a client of the service's URL)")
    config.addinivalue_line("markers", "fakes_suffice: a rule refused before anything is stored: runs on the "
                                       "fakes only (the contract tests hold them to MongoDB)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the variant a test has nothing to show on: memory for `real_stack`, mongo for `fakes_suffice`."""
    kept, dropped = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        backend = params.params.get("followups") if params is not None else None
        unneeded = (backend == "memory" and item.get_closest_marker("real_stack")) or (
            backend == "mongo" and item.get_closest_marker("fakes_suffice"))
        (dropped if unneeded else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _settings(**values: Any) -> dict[str, Any]:
    return dict(attachment_max_bytes=ATTACHMENT_LIMIT, import_chunk_rows=50, import_max_bytes=IMPORT_LIMIT,
                link_keys=LINK_KEYS,
                mail_inbound_domain=INBOUND, link_posts_per_minute=LINK_POSTS_PER_MINUTE, **values)


@pytest.fixture(scope="session", params=BACKENDS)
async def followups(request: pytest.FixtureRequest, public_key: object) -> AsyncIterator[Service]:
    if request.param == "memory":
        async for service in _offline(public_key):
            yield service
        return
    infra: Infrastructure = request.getfixturevalue("infra")
    isolation = Isolation.new()
    port = free_port()
    settings = service_settings(FollowupsSettings, infra, isolation, "followups", public_key=public_key,
                                **_settings(public_base_url=f"http://127.0.0.1:{port}"))
    clock = ManualClock(TODAY)
    async with serve_app(create_app(settings, clock=clock), port=port) as base_url:
        events = EventLog(infra, Topics(isolation.topic_prefix))
        await events.start()
        try:
            yield Service(base_url=base_url, infra=infra, isolation=isolation, clock=clock, events=events)
        finally:
            await events.stop()


async def _offline(public_key: object) -> AsyncIterator[Service]:
    """The app on fakes, its lifespan run by hand (what a server would do), no port, no connection."""
    memory = fakes()
    settings = FollowupsSettings(auth_public_key_file=public_key, **_settings(public_base_url=OFFLINE_URL))
    clock = ManualClock(TODAY)
    app = create_app(settings, clock=clock, adapters=memory.adapters)
    async with app.router.lifespan_context(app):
        yield Service(base_url=OFFLINE_URL, clock=clock, events=MemoryEventLog(memory, Topics("")), app=app,
                      fakes=memory)


@pytest.fixture
def tenant() -> str:
    return "tenant-" + uuid.uuid4().hex[:8]


@pytest.fixture
async def api(followups: Service, tenant: str, token_for: Callable[..., str]) -> AsyncIterator[Api]:
    """An admin of a fresh tenant; `api.as_role("collector")` gives the same tenant with another role."""
    followups.forget()  # memory: a test starts on empty fakes (each copy per unit of work stays small)
    async with Api(followups, tenant, token_for, role="admin") as client:
        yield client
