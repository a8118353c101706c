"""Every service built offline from `create_app(..., adapters=fakes)`, inside its lifespan: what its
OpenAPI and AsyncAPI documents say needs no server, no broker and no database."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from shared.platform.clock import ManualClock

SERVICES = ["followups", "dunning", "mailer", "indicators"]
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _followups(public_key: Path) -> FastAPI:
    from services.followups.app import create_app
    from services.followups.config import FollowupsSettings
    from tests.followups.fakes import fakes
    from tests.followups.helpers import INBOUND, LINK_KEYS

    settings = FollowupsSettings(auth_public_key_file=public_key, link_keys=LINK_KEYS, mail_inbound_domain=INBOUND,
                                 public_base_url="http://followups.test")
    return create_app(settings, clock=ManualClock(AT), adapters=fakes().adapters)


def _dunning(public_key: Path) -> FastAPI:
    from services.dunning.app import create_app
    from services.dunning.config import DunningSettings
    from tests.dunning.fakes import fake_adapters

    settings = DunningSettings(auth_public_key_file=public_key, dunning_scheduler_enabled=False)
    return create_app(settings, clock=ManualClock(AT), adapters=fake_adapters()[0])


def _mailer(public_key: Path) -> FastAPI:
    from services.mailer.app import create_app
    from tests.mailer.fakes import Fakes
    from tests.mailer.unit.conftest import offline_settings

    return create_app(offline_settings(public_key), clock=ManualClock(AT), adapters=Fakes().adapters)


def _indicators(public_key: Path) -> FastAPI:
    from services.indicators.app import create_app
    from services.indicators.config import IndicatorsSettings
    from tests.indicators.fakes import InMemoryStore, fake_adapters

    settings = IndicatorsSettings(auth_public_key_file=public_key)
    return create_app(settings, clock=ManualClock(AT), adapters=fake_adapters(InMemoryStore()))


BUILDERS: dict[str, Callable[[Path], FastAPI]] = {
    "followups": _followups, "dunning": _dunning, "mailer": _mailer, "indicators": _indicators}


@asynccontextmanager
async def offline_app(service: str, public_key: Path) -> AsyncIterator[FastAPI]:
    """The service's app on fakes, its lifespan running (the consumers and publications are wired there)."""
    app = BUILDERS[service](public_key)
    async with app.router.lifespan_context(app):
        yield app


async def documents(service: str, public_key: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(OpenAPI, AsyncAPI) as the service serves them."""
    import httpx

    async with offline_app(service, public_key) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://docs.test") as http:
            openapi = (await http.get("/openapi.json")).raise_for_status().json()
            asyncapi = (await http.get("/asyncapi.json")).raise_for_status().json()
    return openapi, asyncapi
