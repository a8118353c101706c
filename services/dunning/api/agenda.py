"""Routes of the agenda: what to perform per date range, and a collector's answers to it."""

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.dunning.api.deps import MAX_AGENDA_DAYS, Api, Collector
from services.dunning.domain.agenda import AgendaEntry
from services.dunning.domain.decisions import StepRecord
from services.dunning.handlers import agenda as handlers
from shared.platform.auth import CurrentPrincipal
from shared.platform.problems import invalid_field

router = APIRouter()


@router.get("/agenda", tags=["agenda"], summary="Scenario steps and specific actions to perform, per date range")
async def agenda(
    principal: CurrentPrincipal, deps: Api,
    first: Annotated[date | None, Query(alias="from")] = None, last: Annotated[date | None, Query(alias="to")] = None,
    collector_id: Annotated[str | None, Query(description="A collector's user id, or 'me'")] = None,
    include_skipped: bool = False,
) -> list[AgendaEntry]:
    first = first or deps.clock.today()
    last = last or first + timedelta(days=7)
    if last < first or (last - first).days > MAX_AGENDA_DAYS:
        raise invalid_field("query.to", f"'to' must be on or after 'from', at most {MAX_AGENDA_DAYS} days later")
    collector = principal.user_id if collector_id == "me" else collector_id
    return await handlers.agenda_entries(principal.tenant_id, first=first, last=last, collector_id=collector,
                                         include_skipped=include_skipped, uow=deps.uow)


class Note(BaseModel):
    note: str | None = Field(None, max_length=2000)


class SkipBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why the step is not performed")


class PostponeBody(BaseModel):
    to: date


@router.post("/agenda/steps/{record_id}/confirm", tags=["agenda"],
             summary="Send a to-be-confirmed step now (items checked again), or mark a manual step performed")
async def confirm_step(record_id: str, principal: Collector, deps: Api, body: Note | None = None) -> StepRecord:
    return await handlers.confirm_step(principal.tenant_id, record_id, by=principal, note=body.note if body else None,
                                       uow=deps.uow, clock=deps.clock, default_company=deps.default_company)


@router.post("/agenda/steps/{record_id}/skip", tags=["agenda"])
async def skip_step(record_id: str, body: SkipBody, principal: Collector, deps: Api) -> StepRecord:
    return await handlers.skip_step(principal.tenant_id, record_id, by=principal, reason=body.reason, uow=deps.uow,
                                    clock=deps.clock)


@router.post("/agenda/steps/{record_id}/postpone", tags=["agenda"])
async def postpone_step(record_id: str, body: PostponeBody, principal: Collector, deps: Api) -> StepRecord:
    return await handlers.postpone_step(principal.tenant_id, record_id, by=principal, to=body.to, uow=deps.uow,
                                        clock=deps.clock)


@router.post("/agenda/actions/{action_id}/confirm", tags=["agenda"],
             summary="Confirm a to-be-confirmed specific action: it runs now if its date has come")
async def confirm_action(action_id: str, principal: Collector, deps: Api) -> dict[str, str]:
    outcome = await handlers.confirm_action(principal.tenant_id, action_id, by=principal, uow=deps.uow,
                                            clock=deps.clock, default_company=deps.default_company)
    return {"action_id": action_id, "outcome": outcome}
