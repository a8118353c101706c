"""What the routes need, put on `app.state.dunning` by the composition root, and the roles they ask for."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from services.dunning.ports import DunningUnitOfWork
from services.dunning.workers.scheduler import Scheduler
from shared.platform.auth import Principal, Role, require_role
from shared.platform.clock import Clock

MAX_PREVIEW_DAYS = 120
MAX_AGENDA_DAYS = 366


@dataclass
class DunningApi:
    """The ports and settings the routes call handlers with."""

    uow: DunningUnitOfWork
    scheduler: Scheduler
    clock: Clock
    test_mode: bool
    default_company: str = ""


def api(request: Request) -> DunningApi:
    return request.app.state.dunning  # type: ignore[no-any-return]


Api = Annotated[DunningApi, Depends(api)]
Manager = Annotated[Principal, require_role(Role.CREDIT_MANAGER)]
Collector = Annotated[Principal, require_role(Role.COLLECTOR, Role.CREDIT_MANAGER)]
Days = Annotated[int, Query(ge=1, le=MAX_PREVIEW_DAYS, description="How many days ahead")]
