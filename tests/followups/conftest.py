"""One followups service per test session (real broker, real database); each test works in a tenant of its
own, which is also how the service keeps tenants apart. Every event the service publishes is collected."""

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from devstack.processes import free_port
from services.followups.app import create_app
from services.followups.config import FollowupsSettings
from shared.contracts.topics import Topics
from shared.platform.clock import ManualClock
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation, serve_app, service_settings
from tests.followups.helpers import INBOUND, LINK_KEYS, LINK_POSTS_PER_MINUTE, Api, EventLog, Service

TODAY = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
ATTACHMENT_LIMIT = 64 * 1024


@pytest.fixture(scope="session")
async def followups(infra: Infrastructure, public_key: object) -> AsyncIterator[Service]:
    isolation = Isolation.new()
    port = free_port()
    settings = service_settings(FollowupsSettings, infra, isolation, "followups", public_key=public_key,
                                attachment_max_bytes=ATTACHMENT_LIMIT, import_chunk_rows=50, link_keys=LINK_KEYS,
                                public_base_url=f"http://127.0.0.1:{port}", mail_inbound_domain=INBOUND,
                                link_posts_per_minute=LINK_POSTS_PER_MINUTE)
    clock = ManualClock(TODAY)
    async with serve_app(create_app(settings, clock=clock), port=port) as base_url:
        events = EventLog(infra, Topics(isolation.topic_prefix))
        await events.start()
        try:
            yield Service(base_url=base_url, infra=infra, isolation=isolation, clock=clock, events=events)
        finally:
            await events.stop()


@pytest.fixture
def tenant() -> str:
    return "tenant-" + uuid.uuid4().hex[:8]


@pytest.fixture
async def api(followups: Service, tenant: str, token_for: Callable[..., str]) -> AsyncIterator[Api]:
    """An admin of a fresh tenant; `api.as_role("collector")` gives the same tenant with another role."""
    async with Api(followups, tenant, token_for, role="admin") as client:
        yield client
