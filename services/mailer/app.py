"""Composition root of the mailer service: builds the app from settings; tests pass overrides."""

from fastapi import FastAPI

from services.mailer.config import MailerSettings
from shared.platform.clock import Clock
from shared.platform.http import create_http_app
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import load_settings

TITLE = "AR Follow-ups — mailer"


def create_app(settings: MailerSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or load_settings(MailerSettings)
    runtime = ServiceRuntime(name="mailer", settings=settings, clock=clock)
    return create_http_app(runtime, title=TITLE, description="Renders and sends emails once, and reports delivery.", wire=wire)


async def wire(runtime: ServiceRuntime, app: FastAPI) -> None:
    """Register this service's consumers, workers and API dependencies on the runtime."""
