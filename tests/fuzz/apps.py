"""Each service offline for the fuzzer: `create_app(settings, adapters=<its fakes>)` inside its lifespan,
with the settings its own unit tests use (no broker, no database, no network)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI

from shared.platform.clock import ManualClock

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # the clock the fuzzer's services read: never today's date
Offline = Callable[[Path], AbstractAsyncContextManager[FastAPI]]


@asynccontextmanager
async def followups(public_key: Path) -> AsyncIterator[FastAPI]:
    from services.followups.app import create_app
    from services.followups.config import FollowupsSettings
    from tests.followups.fakes import fakes
    from tests.followups.helpers import LINK_KEYS

    settings = FollowupsSettings(auth_public_key_file=public_key, link_keys=LINK_KEYS,
                                 public_base_url="http://followups.test", mail_inbound_domain="inbound.acme.example")
    app = create_app(settings, clock=ManualClock(NOW), adapters=fakes().adapters)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def dunning(public_key: Path) -> AsyncIterator[FastAPI]:
    from services.dunning.app import create_app
    from services.dunning.config import DunningSettings
    from tests.dunning.fakes import fake_adapters

    adapters, _ = fake_adapters()
    settings = DunningSettings(auth_public_key_file=public_key, dunning_scheduler_enabled=False,
                               dunning_test_mode=True)
    app = create_app(settings, clock=ManualClock(NOW), adapters=adapters)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def mailer(public_key: Path) -> AsyncIterator[FastAPI]:
    from services.mailer.app import create_app
    from tests.mailer.fakes import Fakes
    from tests.mailer.unit.conftest import offline_settings

    app = create_app(offline_settings(public_key), clock=ManualClock(NOW), adapters=Fakes().adapters)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def indicators(public_key: Path) -> AsyncIterator[FastAPI]:
    from tests.indicators.offline import offline_service

    async with offline_service(public_key, clock=ManualClock(NOW)) as service:
        yield service.app


SERVICES: dict[str, Offline] = {"followups": followups, "dunning": dunning, "mailer": mailer,
                                "indicators": indicators}
