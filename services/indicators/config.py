"""Settings of the indicators service: the platform's, plus its own (all read from ARF_* variables)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.platform.settings import ENV_PREFIX, PlatformSettings


class IndicatorsSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    http_port: int = Field(8004, ge=1, le=65535, description="Port of the API, health and metrics")
    indicators_batch_size: int = Field(
        200, ge=1, le=1000,
        description="Item and action events read and applied together in one transaction (1: one by one)")
    indicators_recount_chunk: int = Field(
        200, ge=1, le=500, description="Items recounted per transaction when a client or a status definition changes")
    indicators_settle_interval_s: float = Field(
        30.0, gt=0, description="How often recently changed clients and statuses are recounted again")
    indicators_settle_window_s: float = Field(
        600.0, gt=0, description="How far back a settling pass looks for changed clients and statuses")
    indicators_history_close_interval_s: float = Field(
        300.0, gt=0, description="How often finished days of history are closed into daily points")
    indicators_history_close_grace_s: float = Field(
        120.0, ge=0, description="How long after midnight (UTC) a day is closed, so late commits are in it")
