"""Fixtures of the dunning unit tests: the service on in-memory fakes, one per test module and one tenant
per test (as the live service of `tests/dunning/conftest.py`, which these override)."""

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.dunning.conftest import START
from tests.dunning.offline import OfflineDunning, offline_dunning


@pytest.fixture(scope="module")
async def offline_service(public_key: Path, token_for: Callable[..., str]) -> AsyncIterator[OfflineDunning]:
    async with offline_dunning(public_key, token_for, start=START) as service:
        yield service


@pytest.fixture
async def dunning(offline_service: OfflineDunning) -> AsyncIterator[OfflineDunning]:
    view = offline_service.as_tenant("acme-" + uuid.uuid4().hex[:8])
    try:
        yield view
    finally:
        await view.http.aclose()
