"""Composition root of the followups service: builds the app from settings; tests pass overrides."""

from fastapi import FastAPI

from services.followups.config import FollowupsSettings
from shared.platform.clock import Clock
from shared.platform.http import create_http_app
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import load_settings

TITLE = "AR Follow-ups — followups"


def create_app(settings: FollowupsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or load_settings(FollowupsSettings)
    runtime = ServiceRuntime(name="followups", settings=settings, clock=clock)
    return create_http_app(runtime, title=TITLE, description="Clients, items, statuses, the change-status wizard, specific and follow-up actions.", wire=wire)


async def wire(runtime: ServiceRuntime, app: FastAPI) -> None:
    """Register this service's consumers, workers and API dependencies on the runtime."""
