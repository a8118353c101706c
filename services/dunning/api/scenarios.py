"""Routes of scenarios, their dry runs, and the tenant's sender profile (changing them needs a credit manager)."""

from typing import Annotated

from fastapi import APIRouter, Query

from services.dunning.api.deps import Api, Days, Manager
from services.dunning.domain.messages import CompanyProfile
from services.dunning.domain.preview import ChangedStep, ProjectedStep
from services.dunning.domain.scenarios import Scenario, ScenarioDraft
from services.dunning.handlers import preview as dry_run
from services.dunning.handlers import scenarios, settings
from shared.platform.auth import CurrentPrincipal

router = APIRouter()


@router.get("/scenarios", tags=["scenarios"], summary="The tenant's scenarios (the default one is created on first use)")
async def list_scenarios(principal: CurrentPrincipal, deps: Api) -> list[Scenario]:
    return await scenarios.list_scenarios(principal.tenant_id, uow=deps.uow, clock=deps.clock)


@router.post("/scenarios/setup", tags=["scenarios"], summary="Make sure the tenant has the default scenario (idempotent)")
async def setup_scenarios(principal: Manager, deps: Api) -> list[Scenario]:
    return await scenarios.list_scenarios(principal.tenant_id, uow=deps.uow, clock=deps.clock)


@router.get("/scenarios/{code}", tags=["scenarios"])
async def get_scenario(code: str, principal: CurrentPrincipal, deps: Api) -> Scenario:
    return await scenarios.get_scenario(principal.tenant_id, code, uow=deps.uow, clock=deps.clock)


@router.post("/scenarios", tags=["scenarios"], status_code=201, summary="Create a scenario (templates checked)")
async def create_scenario(draft: ScenarioDraft, principal: Manager, deps: Api) -> Scenario:
    return await scenarios.create_scenario(principal.tenant_id, draft, uow=deps.uow, clock=deps.clock)


@router.put("/scenarios/{code}", tags=["scenarios"], summary="Replace a scenario; items move to valid steps")
async def replace_scenario(
    code: str, draft: ScenarioDraft, principal: Manager, deps: Api,
    expected_version: Annotated[int | None, Query(ge=1, description="Refuse if the stored version differs")] = None,
) -> Scenario:
    return await scenarios.replace_scenario(principal.tenant_id, code, draft, expected_version=expected_version,
                                            uow=deps.uow, clock=deps.clock)


@router.delete("/scenarios/{code}", tags=["scenarios"], status_code=204)
async def delete_scenario(code: str, principal: Manager, deps: Api) -> None:
    await scenarios.delete_scenario(principal.tenant_id, code, uow=deps.uow, clock=deps.clock)


@router.post("/scenarios/{code}/preview-change", tags=["dry run"],
             summary="What saving this version would change, per item and day (nothing is saved)")
async def preview_change(code: str, draft: ScenarioDraft, principal: CurrentPrincipal, deps: Api, days: Days = 30,
                         client_id: str | None = None) -> list[ChangedStep]:
    return await dry_run.preview_change(principal.tenant_id, code, draft, days=days, client_id=client_id,
                                        uow=deps.uow, clock=deps.clock)


@router.get("/preview", tags=["dry run"], summary="What the scenarios will send over the next N days")
async def preview(principal: CurrentPrincipal, deps: Api, days: Days = 14, client_id: str | None = None) -> list[ProjectedStep]:
    return await dry_run.preview(principal.tenant_id, days=days, client_id=client_id, uow=deps.uow, clock=deps.clock)


@router.get("/settings/company", tags=["settings"], summary="The sender shown in reminders")
async def get_company(principal: CurrentPrincipal, deps: Api) -> CompanyProfile | None:
    return await settings.company(principal.tenant_id, uow=deps.uow)


@router.put("/settings/company", tags=["settings"])
async def put_company(company: CompanyProfile, principal: Manager, deps: Api) -> CompanyProfile:
    return await settings.save_company(principal.tenant_id, company, uow=deps.uow)
