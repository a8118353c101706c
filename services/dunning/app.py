"""Composition root of the dunning service: builds the app from settings; tests pass overrides."""

from fastapi import FastAPI

from services.dunning.config import DunningSettings
from shared.platform.clock import Clock
from shared.platform.http import create_http_app
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import load_settings

TITLE = "AR Follow-ups — dunning"


def create_app(settings: DunningSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or load_settings(DunningSettings)
    runtime = ServiceRuntime(name="dunning", settings=settings, clock=clock)
    return create_http_app(runtime, title=TITLE, description="Collection scenarios, the agenda, and scheduled actions sent once.", wire=wire)


async def wire(runtime: ServiceRuntime, app: FastAPI) -> None:
    """Register this service's consumers, workers and API dependencies on the runtime."""
