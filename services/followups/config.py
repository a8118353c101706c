"""Settings of the followups service: the platform's, plus its own (all read from ARF_* variables)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.links import LinkSettings
from shared.platform.settings import ENV_PREFIX, PlatformSettings

DEFAULT_ATTACHMENT_TYPES = (
    "application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain", "text/csv", "message/rfc822",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-outlook",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


class FollowupsSettings(LinkSettings, PlatformSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    http_port: int = Field(8001, ge=1, le=65535, description="Port of the API, health and metrics")
    public_base_url: str = Field("http://localhost:8001",
                                 description="Base URL users reach this service at (interactive links point here)")
    max_items_per_action: int = Field(
        20_000, ge=1, le=40_000,
        description="Most items one action may hold (its action-changed event lists every item id)")
    attachment_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Largest attachment accepted")
    attachment_types: tuple[str, ...] = Field(DEFAULT_ATTACHMENT_TYPES, description="Content types accepted")
    import_chunk_rows: int = Field(500, ge=1, le=5000,
                                   description="Import rows written per transaction (each chunk is atomic)")
    import_max_row_bytes: int = Field(256 * 1024, ge=1024, description="Longest single import row (JSON or CSV)")
    import_max_bytes: int = Field(256 * 1024 * 1024, ge=1024,
                                  description="Largest import body (declared: 413 before reading; streamed: stops there)")
    mail_inbound_domain: str = Field("inbound.arf.localhost",
                                     description="Domain of reply addresses `reply+<token>@…` (the mailer's inbound)")
    link_default_days: int = Field(30, ge=1, le=365, description="Validity of an interactive link unless the sender "
                                                                 "chooses")
    link_max_days: int = Field(90, ge=1, le=365, description="Longest validity a sender may give a link")
    link_selection_max_items: int = Field(100, ge=1, le=500,
                                          description="Most items a link scoped to a selection (not an action) names")
    link_posts_per_minute: int = Field(10, ge=1, le=1000, description="Changes one link may make per minute")
    link_form_hours: int = Field(12, ge=1, le=168, description="How long a page's forms stay valid once rendered")
    attachment_url_days: int = Field(14, ge=1, le=90,
                                     description="Validity of the signed URL the mailer fetches an attachment from")
    reply_attachment_timeout_s: float = Field(30.0, gt=0, description="Timeout fetching one attachment of a reply")
