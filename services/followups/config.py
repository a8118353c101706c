"""Settings of the followups service: the platform's, plus its own (all read from ARF_* variables)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.platform.settings import ENV_PREFIX, PlatformSettings

DEFAULT_ATTACHMENT_TYPES = (
    "application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain", "text/csv", "message/rfc822",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-outlook",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


class FollowupsSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    http_port: int = Field(8001, ge=1, le=65535, description="Port of the API, health and metrics")
    public_base_url: str = Field("http://localhost:8001", description="Base URL users reach this service at")
    max_items_per_action: int = Field(
        20_000, ge=1, le=40_000,
        description="Most items one action may hold (its action-changed event lists every item id)")
    attachment_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Largest attachment accepted")
    attachment_types: tuple[str, ...] = Field(DEFAULT_ATTACHMENT_TYPES, description="Content types accepted")
    import_chunk_rows: int = Field(500, ge=1, le=5000,
                                   description="Import rows written per transaction (each chunk is atomic)")
    import_max_row_bytes: int = Field(256 * 1024, ge=1024, description="Longest single import row (JSON or CSV)")
