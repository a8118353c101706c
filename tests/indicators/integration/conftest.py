"""One indicators service for the whole integration package (a start costs ~12 s of consumer group
joins); every test gets a tenant of its own, so tests cannot see each other's figures."""

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from shared.platform.clock import ManualClock
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation
from tests.indicators.integration.support import Running, Service, running_service

START = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture(scope="package")
async def indicators(infra: Infrastructure, public_key: Path) -> AsyncIterator[Service]:
    async with running_service(
        infra, Isolation.new(), public_key, clock=ManualClock(START),
        indicators_recount_chunk=2,  # several recount transactions even for a handful of items
        indicators_settle_interval_s=0.5,
        indicators_history_close_interval_s=3600,  # the tests close days by hand
    ) as service:
        yield service


@pytest.fixture
def tenant_id() -> str:
    return f"tenant-{uuid4().hex[:8]}"


@pytest.fixture
async def tenant(indicators: Service, tenant_id: str, token_for: Callable[..., str]) -> AsyncIterator[Running]:
    """The service as seen by an admin of a fresh tenant."""
    async with indicators.tenant(tenant_id, token_for(tenant_id=tenant_id)) as running:
        yield running
