"""The fixtures the API-level scenarios ask for (`indicators`, `tenant_id`, `tenant`), offline: the
service on in-memory fakes, so the scenarios of `tests/indicators/integration` run here as units."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import uuid4

import pytest

from shared.platform.clock import ManualClock
from tests.indicators.integration.conftest import START
from tests.indicators.integration.support import Running
from tests.indicators.offline import OfflineService, offline_service


@pytest.fixture
async def indicators(public_key: Path) -> AsyncIterator[OfflineService]:
    async with offline_service(public_key, clock=ManualClock(START), indicators_recount_chunk=2) as service:
        yield service


@pytest.fixture
def tenant_id() -> str:
    return f"tenant-{uuid4().hex[:8]}"


@pytest.fixture
async def tenant(indicators: OfflineService, tenant_id: str, token_for: Callable[..., str]) -> AsyncIterator[Running]:
    """The service as seen by an admin of a fresh tenant."""
    async with indicators.tenant(tenant_id, token_for(tenant_id=tenant_id)) as running:
        yield running
