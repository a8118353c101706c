"""Settings of the dunning service: the platform's, plus its own (all read from ARF_* variables)."""

import time
from datetime import date, datetime, timedelta

from pydantic import AwareDatetime, Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.platform.clock import Clock
from shared.platform.settings import ENV_PREFIX, PlatformSettings


class DunningSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    http_port: int = Field(8002, ge=1, le=65535, description="Port of the API, health and metrics")
    dunning_scheduler_enabled: bool = Field(True, description="Run the scheduler loop in this process")
    dunning_scheduler_interval_s: float = Field(60.0, gt=0, description="Seconds between scheduler passes")
    dunning_scheduler_lease_s: float = Field(30.0, gt=0, description="Scheduler leadership lease (one replica passes)")
    dunning_scheduler_batch_groups: int = Field(200, ge=1, description="Client groups written per transaction")
    dunning_scheduler_parallel_batches: int = Field(
        2, ge=1, description="Transactions a pass keeps in flight (one is decided while another is written)"
    )
    dunning_company_name: str = Field("", description="Sender company name until a tenant sets its profile")
    dunning_test_mode: bool = Field(
        False, description="Tests only: enables POST /admin/scheduler/run and ARF_DUNNING_TEST_CLOCK_START"
    )
    dunning_test_clock_start: AwareDatetime | None = Field(
        None, description="Tests only (needs ARF_DUNNING_TEST_MODE): the clock starts at this moment and ticks"
    )

    @model_validator(mode="after")
    def _test_clock_only_in_tests(self) -> "DunningSettings":
        if self.dunning_test_clock_start is not None and not self.dunning_test_mode:
            raise ValueError("dunning_test_clock_start needs dunning_test_mode: a fixed clock is for tests only")
        return self

    def test_clock(self) -> Clock | None:
        return TickingClock(self.dunning_test_clock_start) if self.dunning_test_clock_start else None


class TickingClock:
    """Starts at a given moment and moves with real time: a test process that believes it is another day."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)

    def today(self) -> date:
        return self.now().date()
