"""Fixtures of the dunning unit tests: the service on in-memory fakes, one per test."""

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.dunning.conftest import START
from tests.dunning.offline import OfflineDunning, offline_dunning


@pytest.fixture
async def dunning(public_key: Path, token_for: Callable[..., str]) -> AsyncIterator[OfflineDunning]:
    """Overrides the live service of `tests/dunning/conftest.py`: same handles, on fakes."""
    async with offline_dunning(public_key, token_for, start=START) as service:
        yield service.as_tenant("acme-" + uuid.uuid4().hex[:8])
