"""Every mutating operation of every service documents the `Idempotency-Key` header in its OpenAPI (the
shared `create_http_app` installs it); no read operation does."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from shared.platform.clock import ManualClock
from shared.platform.idempotency import HEADER


def followups(public_key: Path) -> FastAPI:
    from services.followups.app import create_app
    from services.followups.config import FollowupsSettings
    from tests.followups.fakes import fakes
    from tests.followups.helpers import LINK_KEYS
    settings = FollowupsSettings(auth_public_key_file=public_key, link_keys=LINK_KEYS)
    return create_app(settings, adapters=fakes().adapters)


def dunning(public_key: Path) -> FastAPI:
    from services.dunning.app import create_app
    from services.dunning.config import DunningSettings
    from tests.dunning.fakes import fake_adapters
    return create_app(DunningSettings(auth_public_key_file=public_key), adapters=fake_adapters()[0])


def indicators(public_key: Path) -> FastAPI:
    from services.indicators.app import create_app
    from services.indicators.config import IndicatorsSettings
    from tests.indicators.fakes.ports import InMemoryStore, fake_adapters
    return create_app(IndicatorsSettings(auth_public_key_file=public_key),
                      clock=ManualClock(datetime(2026, 11, 23, tzinfo=UTC)), adapters=fake_adapters(InMemoryStore()))


def mailer(public_key: Path) -> FastAPI:
    from services.mailer.app import create_app
    from tests.mailer.fakes import Fakes
    from tests.mailer.unit.conftest import offline_settings
    return create_app(offline_settings(public_key), adapters=Fakes().adapters)


@pytest.mark.parametrize("build", [followups, dunning, indicators, mailer])
def test_every_mutating_operation_documents_the_header(build: Callable[[Path], FastAPI], public_key: Path) -> None:
    spec: dict[str, Any] = build(public_key).openapi()
    operations = [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]
    mutating = [(m, p, op) for m, p, op in operations if m in {"post", "put", "patch", "delete"}]
    assert mutating
    print(f"{build.__name__}: {len(mutating)} mutating operations of {len(operations)} documented")
    for method, path, op in operations:
        documented = [p for p in op.get("parameters", []) if p["name"] == HEADER and p["in"] == "header"]
        assert len(documented) == (1 if (method, path, op) in mutating else 0), (method, path)
