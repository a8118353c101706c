"""The KPI API: current KPIs of a scope, as at a past moment, a daily series, what moved a KPI,
the recompute-and-compare command, and the tenant's reporting currency. The tenant is always the
caller's (from the verified token)."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import AwareDatetime

from services.indicators.domain.facts import ScopeKind
from services.indicators.domain.kpis import Kpi, ReportingCurrency
from services.indicators.handlers.queries import (
    ExplainedMove,
    ScopeKpis,
    ScopeNotFound,
    Series,
    current_kpis,
    explain_move,
    kpi_series,
    kpis_as_at,
    scope_of,
)
from services.indicators.handlers.recompute import RecomputeReport, recompute_and_compare
from services.indicators.ports import FiguresReads, HistoryReads, Tx
from shared.contracts.values import Currency
from shared.platform.auth import CurrentPrincipal, Principal, Role, require_role
from shared.platform.clock import Clock
from shared.platform.problems import invalid_field
from shared.ports import UnitOfWork

MAX_SERIES_DAYS = 400
router = APIRouter(tags=["indicators"])


@dataclass(frozen=True)
class IndicatorsApi:
    """What the routes need, put on `app.state.indicators` by the composition root."""

    reader: FiguresReads
    history: HistoryReads
    uow: UnitOfWork[Tx]
    clock: Clock


def deps(request: Request) -> IndicatorsApi:
    return request.app.state.indicators  # type: ignore[no-any-return]


ScopeParam = Annotated[ScopeKind, Query(description="tenant, entity, group, collector or client")]
IdParam = Annotated[str | None, Query(alias="id", min_length=1, max_length=200,
                                      description="The entity, group, collector (user id) or client id")]


def _scope(kind: ScopeKind, scope_id: str | None) -> str:
    try:
        return scope_of(kind, scope_id)
    except ValueError as exc:
        raise invalid_field("query.id", str(exc)) from None


def _not_found(exc: ScopeNotFound) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc))


@router.get("/kpis", response_model=ScopeKpis, summary="Current KPIs of a scope, per currency")
async def get_kpis(request: Request, principal: CurrentPrincipal, scope: ScopeParam = ScopeKind.TENANT,
                   scope_id: IdParam = None) -> ScopeKpis:
    api = deps(request)
    try:
        return await current_kpis(principal.tenant_id, _scope(scope, scope_id), reader=api.reader, clock=api.clock)
    except ScopeNotFound as exc:
        raise _not_found(exc) from None


@router.get("/kpis/as-at", response_model=ScopeKpis, summary="KPIs of a scope as they stood at a past moment")
async def get_kpis_as_at(request: Request, principal: CurrentPrincipal,
                         at: Annotated[AwareDatetime, Query(description="ISO 8601 with a time zone")],
                         scope: ScopeParam = ScopeKind.TENANT, scope_id: IdParam = None) -> ScopeKpis:
    api = deps(request)
    if at > api.clock.now():
        raise invalid_field("query.at", "`at` is in the future")
    try:
        return await kpis_as_at(principal.tenant_id, _scope(scope, scope_id), at, reader=api.reader,
                                history=api.history, clock=api.clock)
    except ScopeNotFound as exc:
        raise _not_found(exc) from None


@router.get("/kpis/series", response_model=Series, summary="One point per day, for charts")
async def get_series(request: Request, principal: CurrentPrincipal,
                     first: Annotated[date, Query(alias="from")], last: Annotated[date, Query(alias="to")],
                     scope: ScopeParam = ScopeKind.TENANT, scope_id: IdParam = None) -> Series:
    api = deps(request)
    if last < first:
        raise invalid_field("query.to", "`to` is before `from`")
    if last - first > timedelta(days=MAX_SERIES_DAYS):
        raise invalid_field("query.to", f"a series spans at most {MAX_SERIES_DAYS} days")
    try:
        return await kpi_series(principal.tenant_id, _scope(scope, scope_id), first, last, reader=api.reader,
                                history=api.history, clock=api.clock)
    except ScopeNotFound as exc:
        raise _not_found(exc) from None


@router.get("/kpis/explain", response_model=ExplainedMove,
            summary="The items and events that moved a KPI between two moments, largest first")
async def get_explanation(request: Request, principal: CurrentPrincipal, kpi: Kpi,
                          from_at: Annotated[AwareDatetime, Query(alias="from")],
                          to_at: Annotated[AwareDatetime, Query(alias="to")],
                          currency: Annotated[Currency | None,
                                              Query(description="Needed for amounts and counts of items")] = None,
                          limit: Annotated[int, Query(ge=1, le=500)] = 50,
                          scope: ScopeParam = ScopeKind.TENANT, scope_id: IdParam = None) -> ExplainedMove:
    api = deps(request)
    if to_at < from_at:
        raise invalid_field("query.to", "`to` is before `from`")
    if to_at > api.clock.now():
        raise invalid_field("query.to", "`to` is in the future")
    if currency is None and kpi is not Kpi.OPEN_FOLLOW_UPS:
        raise invalid_field("query.currency", f"{kpi.value} is per currency: give `currency`")
    try:
        return await explain_move(principal.tenant_id, _scope(scope, scope_id), kpi, currency or "", from_at, to_at,
                                  limit=limit, reader=api.reader, history=api.history, clock=api.clock)
    except ScopeNotFound as exc:
        raise _not_found(exc) from None


@router.post("/admin/recompute", response_model=RecomputeReport,
             summary="Rebuild every aggregate from the snapshots and report any difference")
async def post_recompute(request: Request, principal: Annotated[Principal, require_role(Role.ADMIN)],
                         repair: bool = False, history: bool = True) -> RecomputeReport:
    api = deps(request)
    return await recompute_and_compare(principal.tenant_id, uow=api.uow, clock=api.clock, check_history=history,
                                       repair=repair)


@router.get("/settings/reporting-currency", response_model=ReportingCurrency | None,
            summary="The tenant's reporting currency and rates (null: KPIs per currency only)")
async def get_reporting_currency(request: Request, principal: CurrentPrincipal) -> ReportingCurrency | None:
    return await deps(request).reader.reporting_currency(principal.tenant_id)


@router.put("/settings/reporting-currency", response_model=ReportingCurrency,
            summary="Declare a reporting currency with conversion rates")
async def put_reporting_currency(request: Request, body: ReportingCurrency,
                                 principal: Annotated[Principal, require_role(Role.ADMIN)]) -> ReportingCurrency:
    await deps(request).reader.set_reporting_currency(principal.tenant_id, body)
    return body


@router.delete("/settings/reporting-currency", status_code=status.HTTP_204_NO_CONTENT,
               summary="Back to KPIs per currency only")
async def delete_reporting_currency(request: Request,
                                    principal: Annotated[Principal, require_role(Role.ADMIN)]) -> None:
    await deps(request).reader.set_reporting_currency(principal.tenant_id, None)
