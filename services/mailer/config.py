"""Settings of the mailer service: the platform's, plus its own (all read from ARF_* variables)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.platform.settings import ENV_PREFIX, PlatformSettings


class MailerSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    http_port: int = Field(8003, ge=1, le=65535, description="Port of the API, health and metrics")
