"""Composition root of the indicators service: builds the app from settings; tests pass overrides."""

from fastapi import FastAPI

from services.indicators.config import IndicatorsSettings
from shared.platform.clock import Clock
from shared.platform.http import create_http_app
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import load_settings

TITLE = "AR Follow-ups — indicators"


def create_app(settings: IndicatorsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or load_settings(IndicatorsSettings)
    runtime = ServiceRuntime(name="indicators", settings=settings, clock=clock)
    return create_http_app(runtime, title=TITLE, description="Dispute KPIs, recalculated on every change.", wire=wire)


async def wire(runtime: ServiceRuntime, app: FastAPI) -> None:
    """Register this service's consumers, workers and API dependencies on the runtime."""
