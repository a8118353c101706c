"""HTTP API of the dunning service: scenarios, dry runs, the agenda, and the proof per client.

The tenant always comes from the verified token; reads are open to every role, changing scenarios
needs a credit manager, answering the agenda a collector.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.dunning.adapters.store import DunningStore
from services.dunning.agenda import Agenda, AgendaConflict, AgendaEntry, AgendaNotFound
from services.dunning.domain.decisions import StepRecord
from services.dunning.domain.messages import CompanyProfile
from services.dunning.domain.preview import ChangedStep, ProjectedStep, position_in
from services.dunning.domain.progress import due_step, suppressed_by
from services.dunning.domain.scenarios import Scenario, ScenarioDraft, ScenarioInvalid, scenario_for
from services.dunning.domain.state import ClientState
from services.dunning.scenario_admin import ScenarioAdmin, ScenarioConflict, ScenarioNotFound
from services.dunning.scheduler import PassReport, Scheduler
from shared.platform.auth import CurrentPrincipal, Principal, Role, require_role
from shared.platform.clock import Clock

router = APIRouter()
MAX_PREVIEW_DAYS = 120
MAX_AGENDA_DAYS = 366


@dataclass
class DunningApi:
    """What the routes need, put on `app.state.dunning` by the composition root."""

    store: DunningStore
    scenarios: ScenarioAdmin
    agenda: Agenda
    scheduler: Scheduler
    clock: Clock
    test_mode: bool


def api(request: Request) -> DunningApi:
    return request.app.state.dunning  # type: ignore[no-any-return]


Api = Annotated[DunningApi, Depends(api)]
Manager = Annotated[Principal, require_role(Role.CREDIT_MANAGER)]
Collector = Annotated[Principal, require_role(Role.COLLECTOR, Role.CREDIT_MANAGER)]
Days = Annotated[int, Query(ge=1, le=MAX_PREVIEW_DAYS, description="How many days ahead")]


def install_error_handlers(app: Any) -> None:
    """Domain errors become clear 4xx answers (never a 500)."""

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        problems = exc.problems if isinstance(exc, ScenarioInvalid) else [str(exc)]
        return JSONResponse({"detail": {"message": "the scenario was not saved", "problems": problems}}, 422)

    async def conflict(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_409_CONFLICT)

    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_404_NOT_FOUND)

    app.add_exception_handler(ScenarioInvalid, invalid)
    app.add_exception_handler(ScenarioConflict, conflict)
    app.add_exception_handler(AgendaConflict, conflict)
    app.add_exception_handler(ScenarioNotFound, not_found)
    app.add_exception_handler(AgendaNotFound, not_found)


# -- scenarios --

@router.get("/scenarios", tags=["scenarios"], summary="The tenant's scenarios (the default one is created on first use)")
async def list_scenarios(principal: CurrentPrincipal, deps: Api) -> list[Scenario]:
    return await deps.scenarios.scenarios(principal.tenant_id)


@router.post("/scenarios/setup", tags=["scenarios"], summary="Make sure the tenant has the default scenario (idempotent)")
async def setup_scenarios(principal: Manager, deps: Api) -> list[Scenario]:
    return await deps.scenarios.setup(principal.tenant_id)


@router.get("/scenarios/{code}", tags=["scenarios"])
async def get_scenario(code: str, principal: CurrentPrincipal, deps: Api) -> Scenario:
    return await deps.scenarios.get(principal.tenant_id, code)


@router.post("/scenarios", tags=["scenarios"], status_code=201, summary="Create a scenario (templates checked)")
async def create_scenario(draft: ScenarioDraft, principal: Manager, deps: Api) -> Scenario:
    return await deps.scenarios.create(principal.tenant_id, draft)


@router.put("/scenarios/{code}", tags=["scenarios"], summary="Replace a scenario; items move to valid steps")
async def replace_scenario(
    code: str, draft: ScenarioDraft, principal: Manager, deps: Api,
    expected_version: Annotated[int | None, Query(ge=1, description="Refuse if the stored version differs")] = None,
) -> Scenario:
    return await deps.scenarios.replace(principal.tenant_id, code, draft, expected_version=expected_version)


@router.delete("/scenarios/{code}", tags=["scenarios"], status_code=204)
async def delete_scenario(code: str, principal: Manager, deps: Api) -> None:
    await deps.scenarios.delete(principal.tenant_id, code)


@router.post("/scenarios/{code}/preview-change", tags=["dry run"],
             summary="What saving this version would change, per item and day (nothing is saved)")
async def preview_change(code: str, draft: ScenarioDraft, principal: CurrentPrincipal, deps: Api, days: Days = 30,
                         client_id: str | None = None) -> list[ChangedStep]:
    return await deps.scenarios.preview_change(principal.tenant_id, code, draft, days=days, client_id=client_id)


@router.get("/preview", tags=["dry run"], summary="What the scenarios will send over the next N days")
async def preview(principal: CurrentPrincipal, deps: Api, days: Days = 14, client_id: str | None = None) -> list[ProjectedStep]:
    return await deps.scenarios.preview(principal.tenant_id, days=days, client_id=client_id)


@router.get("/settings/company", tags=["settings"], summary="The sender shown in reminders")
async def get_company(principal: CurrentPrincipal, deps: Api) -> CompanyProfile | None:
    return await deps.store.company(principal.tenant_id)


@router.put("/settings/company", tags=["settings"])
async def put_company(company: CompanyProfile, principal: Manager, deps: Api) -> CompanyProfile:
    await deps.store.save_company(principal.tenant_id, company)
    return company


# -- agenda --

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
        raise HTTPException(422, f"'to' must be on or after 'from', at most {MAX_AGENDA_DAYS} days later")
    collector = principal.user_id if collector_id == "me" else collector_id
    return await deps.agenda.entries(principal.tenant_id, first=first, last=last, collector_id=collector,
                                     include_skipped=include_skipped)


class Note(BaseModel):
    note: str | None = Field(None, max_length=2000)


class SkipBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why the step is not performed")


class PostponeBody(BaseModel):
    to: date


@router.post("/agenda/steps/{record_id}/confirm", tags=["agenda"],
             summary="Send a to-be-confirmed step now (items checked again), or mark a manual step performed")
async def confirm_step(record_id: str, principal: Collector, deps: Api, body: Note | None = None) -> StepRecord:
    return await deps.agenda.confirm_step(principal.tenant_id, record_id, by=principal, note=body.note if body else None)


@router.post("/agenda/steps/{record_id}/skip", tags=["agenda"])
async def skip_step(record_id: str, body: SkipBody, principal: Collector, deps: Api) -> StepRecord:
    return await deps.agenda.skip_step(principal.tenant_id, record_id, by=principal, reason=body.reason)


@router.post("/agenda/steps/{record_id}/postpone", tags=["agenda"])
async def postpone_step(record_id: str, body: PostponeBody, principal: Collector, deps: Api) -> StepRecord:
    return await deps.agenda.postpone_step(principal.tenant_id, record_id, by=principal, to=body.to)


@router.post("/agenda/actions/{action_id}/confirm", tags=["agenda"],
             summary="Confirm a to-be-confirmed specific action: it runs now if its date has come")
async def confirm_action(action_id: str, principal: Collector, deps: Api) -> dict[str, str]:
    return {"action_id": action_id, "outcome": await deps.agenda.confirm_action(principal.tenant_id, action_id,
                                                                               by=principal)}


# -- proof per client --

@router.get("/clients/{client_id}/history", tags=["proof"],
            summary="Every step recorded for the client (sent, waiting, skipped with its reason), pauses and resumptions")
async def client_history(client_id: str, principal: CurrentPrincipal, deps: Api,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    records = await deps.store.records_of_client(principal.tenant_id, client_id, limit=limit)
    notes = await deps.store.history_of_client(principal.tenant_id, client_id, limit=limit)
    lines = [{"at": r.recorded_at, "kind": f"step_{r.outcome.value}", "record": r.model_dump(mode="json")}
             for r in records]
    lines += [{"at": n["at"], "kind": n["kind"], "text": n["text"], "item_ids": n.get("item_ids", [])} for n in notes]
    return sorted(lines, key=lambda line: line["at"], reverse=True)[:limit]


@router.get("/clients/{client_id}/items", tags=["proof"],
            summary="Where each item of the client stands: next step, its date, and why it would not go")
async def client_items(client_id: str, principal: CurrentPrincipal, deps: Api) -> list[dict[str, Any]]:
    tenant_id = principal.tenant_id
    client = await deps.store.client(tenant_id, client_id) or ClientState(client_id=client_id)
    scenario = scenario_for(await deps.scenarios.scenarios(tenant_id), client.scenario_code)
    statuses = await deps.store.status_rules(tenant_id)
    today = deps.clock.today()
    lines = []
    for item in sorted(await deps.store.items_where(tenant_id, {"client_id": client_id}), key=lambda i: i.due_date):
        step = scenario.step(position_in(item, scenario)) if scenario else None
        due = due_step(item, scenario, today) if scenario else None
        why_not = suppressed_by(item, client, statuses)
        lines.append({
            "item_id": item.item_id, "number": item.number, "due_date": item.due_date, "open_amount": str(item.open_amount),
            "currency": item.currency, "closed": item.closed, "scenario_code": item.scenario_code,
            "last_step": item.done_step, "last_step_on": item.done_on,
            "next_step": step.code if step else None, "next_step_on": step.date_for(item.due_date) if step else None,
            "due_now": due.step.code if due else None,
            "suppressed": {"reason": why_not.reason.value, "detail": why_not.detail} if why_not else None,
            "resumed": item.resumed.model_dump(mode="json") if item.resumed else None,
        })
    return lines


# -- operations --

class RunRequest(BaseModel):
    as_of: date | None = Field(None, description="The day to run for (default: the clock's today)")
    ignore_lease: bool = Field(False, description="Run even if another replica holds the scheduler lease")


@router.post("/admin/scheduler/run", tags=["operations"],
             summary="Tests only (ARF_DUNNING_TEST_MODE): run a scheduler pass now, as of a given day")
async def run_scheduler(body: RunRequest, principal: Manager, deps: Api) -> dict[str, Any]:
    if not deps.test_mode:
        raise HTTPException(404, "not available: the scheduler runs on its own (ARF_DUNNING_TEST_MODE is off)")
    report: PassReport = await deps.scheduler.run_pass(body.as_of or deps.clock.today(),
                                                       hold_lease=not body.ignore_lease, tenant_ids=[principal.tenant_id])
    return report.__dict__
