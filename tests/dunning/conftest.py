"""Fixtures of the dunning tests: one service per test module, one tenant per test (every query and
every scheduler pass of a test is scoped to its tenant, so tests cannot see each other)."""

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation
from tests.dunning.harness import Dunning, running_dunning

START = datetime(2026, 2, 20, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def dunning_service(infra: Infrastructure, public_key: Path, token_for: Callable[..., str]
                          ) -> AsyncIterator[Dunning]:
    async with running_dunning(infra, Isolation.new(), public_key, token_for, start=START) as service:
        yield service


@pytest.fixture
async def dunning(dunning_service: Dunning) -> AsyncIterator[Dunning]:
    view = dunning_service.as_tenant("acme-" + uuid.uuid4().hex[:8])
    try:
        yield view
    finally:
        await view.http.aclose()
