"""Fixtures of the dunning tests: one service per test on its own topics and database."""

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.testing.infra import Infrastructure
from shared.testing.services import Isolation
from tests.dunning.harness import Dunning, running_dunning

START = datetime(2026, 2, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
async def dunning(infra: Infrastructure, isolation: Isolation, public_key: Path,
                  token_for: Callable[..., str]) -> AsyncIterator[Dunning]:
    async with running_dunning(infra, isolation, public_key, token_for, start=START) as service:
        yield service
