"""Operations routes: a scheduler pass on demand, for tests only (ARF_DUNNING_TEST_MODE).

The route calls the scheduler worker itself (not a handler): a pass is the worker's loop body, with
its batching and lease, run once for the caller's tenant.
"""

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from services.dunning.api.deps import Api, Manager
from services.dunning.domain.passes import PassReport

router = APIRouter()


EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)  # a pass looks steps' offsets away from its day


class RunRequest(BaseModel):
    as_of: date | None = Field(None, ge=EARLIEST, le=LATEST,
                               description="The day to run for (default: the clock's today), 1900-01-01 to 2999-12-31")
    ignore_lease: bool = Field(False, description="Run even if another replica holds the scheduler lease")


@router.post("/admin/scheduler/run", tags=["operations"],
             summary="Tests only (ARF_DUNNING_TEST_MODE): run a scheduler pass now, as of a given day")
async def run_scheduler(body: RunRequest, principal: Manager, deps: Api) -> dict[str, Any]:
    if not deps.test_mode:
        raise HTTPException(404, "not available: the scheduler runs on its own (ARF_DUNNING_TEST_MODE is off)")
    report: PassReport = await deps.scheduler.run_pass(body.as_of or deps.clock.today(),
                                                       hold_lease=not body.ignore_lease, tenant_ids=[principal.tenant_id])
    return report.__dict__
