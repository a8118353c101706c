"""Read use cases of the KPI API: current KPIs, as at a past moment, a daily series, and what moved a
KPI between two moments. Every answer carries the moment it was computed."""

from datetime import date, datetime, timedelta

from pydantic import BaseModel, Field

from services.indicators.domain.facts import ScopeKind, scope_key
from services.indicators.domain.figures import EMPTY, F, NO_CURRENCY, Figures
from services.indicators.domain.history import Explanation, days_between, end_of, explain, roll_forward, start_of
from services.indicators.domain.kpis import CurrencyKpis, Kpi, ReportingCurrency, currency_kpis, in_reporting_currency
from services.indicators.ports import FiguresReads, HistoryReads
from shared.platform.clock import Clock

MS = timedelta(milliseconds=1)  # MongoDB keeps times to the millisecond


class ScopeNotFound(Exception):
    def __init__(self, scope: str) -> None:
        super().__init__(f"no indicators for {scope}: no item, action or client of it has been seen")
        self.scope = scope


class MemberKpis(BaseModel):
    """One client of a group (the same customer in one entity)."""

    client_id: str
    entity_id: str
    currencies: list[CurrencyKpis]


class ScopeKpis(BaseModel):
    scope: str
    as_at: datetime = Field(description="The moment these KPIs describe")
    computed_at: datetime = Field(description="When they were computed (ages and overdue are as at `as_at`)")
    updated_at: datetime | None = Field(None, description="When the latest change to these figures was applied")
    last_event_at: datetime | None = Field(None, description="Time of the latest event applied to these figures")
    currencies: list[CurrencyKpis]
    open_follow_ups: int
    open_disputes: int = Field(description="Across currencies (a count, safe to add)")
    reporting: CurrencyKpis | None = Field(None, description="Every currency converted at the tenant's rates")
    reporting_missing_rates: list[str] = Field(default_factory=list)
    members: list[MemberKpis] | None = Field(None, description="Group view: the customer's client in each entity")


class SeriesPoint(BaseModel):
    day: date
    closed: bool = Field(description="False for a day not closed yet (today): computed from the log")
    currencies: list[CurrencyKpis]
    open_follow_ups: int
    reporting: CurrencyKpis | None = None


class Series(BaseModel):
    scope: str
    computed_at: datetime
    points: list[SeriesPoint]


async def state_at(tenant_id: str, scope: str, at: datetime, *, history: HistoryReads) -> dict[str, Figures]:
    """A scope's figures per currency as they stood at `at`: the last closing before its day plus the
    log entries since, so an as-at read costs one day of log at most, however old the date."""
    closed = await history.closed_through(tenant_id)
    base_day = min(closed, at.date() - timedelta(days=1)) if closed else None
    base = await history.closed_state(tenant_id, scope, base_day) if base_day else {}
    since = start_of(base_day + timedelta(days=1)) if base_day else None
    return roll_forward(base, await history.entries(tenant_id, scope, since=since, until=at), scope)


def scope_of(kind: ScopeKind, scope_id: str | None) -> str:
    """The scope key from the API's parameters; raises ValueError with a readable message."""
    if kind is ScopeKind.TENANT and scope_id:
        raise ValueError("the tenant scope takes no id")
    return scope_key(kind, scope_id)


def _kpis(by_currency: dict[str, Figures], *, at: datetime,
          reporting: ReportingCurrency | None) -> tuple[list[CurrencyKpis], int, CurrencyKpis | None, list[str]]:
    money = {currency: figures for currency, figures in by_currency.items() if currency != NO_CURRENCY}
    currencies = [currency_kpis(currency, figures, at=at) for currency, figures in sorted(money.items())]
    follow_ups = int(by_currency.get(NO_CURRENCY, EMPTY).get(F.OPEN_FOLLOW_UPS))
    if reporting is None:
        return currencies, follow_ups, None, []
    total, missing = in_reporting_currency(money, reporting_currency=reporting.currency, rates=reporting.rates)
    converted = currency_kpis(reporting.currency, total, at=at) if total is not None else None
    return currencies, follow_ups, converted, missing


def describe(scope: str, by_currency: dict[str, Figures], *, at: datetime, computed_at: datetime,
             reporting: ReportingCurrency | None) -> ScopeKpis:
    currencies, follow_ups, converted, missing = _kpis(by_currency, at=at, reporting=reporting)
    return ScopeKpis(scope=scope, as_at=at, computed_at=computed_at, currencies=currencies,
                     open_follow_ups=follow_ups, open_disputes=sum(k.open_disputes for k in currencies),
                     reporting=converted, reporting_missing_rates=missing)


async def current_kpis(tenant_id: str, scope: str, *, reader: FiguresReads, clock: Clock) -> ScopeKpis:
    now = clock.now()
    figures = await reader.scope(tenant_id, scope)
    members = await _members(tenant_id, scope, reader=reader, at=now)
    if figures is None and not members:
        raise ScopeNotFound(scope)
    reporting = await reader.reporting_currency(tenant_id)
    kpis = describe(scope, figures.by_currency if figures else {}, at=now, computed_at=clock.now(),
                    reporting=reporting)
    return kpis.model_copy(update={"updated_at": figures.updated_at if figures else None,
                                   "last_event_at": figures.last_event_at if figures else None,
                                   "members": members})


async def _members(tenant_id: str, scope: str, *, reader: FiguresReads, at: datetime) -> list[MemberKpis] | None:
    if not scope.startswith(ScopeKind.GROUP.value + ":"):
        return None
    clients = await reader.group_members(tenant_id, scope.split(":", 1)[1])
    figures = await reader.scopes(tenant_id, [scope_key(ScopeKind.CLIENT, c.client_id) for c in clients])
    return [MemberKpis(client_id=c.client_id, entity_id=c.entity_id,
                       currencies=_kpis(figures[scope_key(ScopeKind.CLIENT, c.client_id)], at=at, reporting=None)[0])
            for c in clients]


async def kpis_as_at(tenant_id: str, scope: str, at: datetime, *, reader: FiguresReads, history: HistoryReads,
                     clock: Clock) -> ScopeKpis:
    """The KPIs as they stood at `at`, rebuilt from the history (not only from daily closings)."""
    if await reader.scope(tenant_id, scope) is None:
        raise ScopeNotFound(scope)
    state = await state_at(tenant_id, scope, at, history=history)
    return describe(scope, state, at=at, computed_at=clock.now(), reporting=await reader.reporting_currency(tenant_id))


async def kpi_series(tenant_id: str, scope: str, first: date, last: date, *, reader: FiguresReads,
                     history: HistoryReads, clock: Clock) -> Series:
    """One point per day (its end), from the daily closings; days not closed yet come from the log."""
    if await reader.scope(tenant_id, scope) is None:
        raise ScopeNotFound(scope)
    now, reporting = clock.now(), await reader.reporting_currency(tenant_id)
    last = min(last, now.date())
    closed = await history.closed_through(tenant_id)
    points: list[SeriesPoint] = []
    state: dict[str, Figures] = {}
    closings = await history.closings(tenant_id, scope, through=min(last, closed)) if closed else []
    applied = 0
    for day in days_between(first, last):
        if closed is not None and day <= closed:
            while applied < len(closings) and closings[applied][0] <= day:
                _, currency, figures = closings[applied]
                state[currency] = figures
                applied += 1
            by_currency, is_closed = state, True
        else:
            moment = min(end_of(day), now)
            by_currency, is_closed = await state_at(tenant_id, scope, moment, history=history), False
        at = min(end_of(day), now)
        currencies, follow_ups, converted, _ = _kpis(by_currency, at=at, reporting=reporting)
        points.append(SeriesPoint(day=day, closed=is_closed, currencies=currencies, open_follow_ups=follow_ups,
                                  reporting=converted))
    return Series(scope=scope, computed_at=clock.now(), points=points)


class ExplainedMove(Explanation):
    computed_at: datetime


async def explain_move(tenant_id: str, scope: str, kpi: Kpi, currency: str, from_at: datetime, to_at: datetime, *,
                       limit: int, reader: FiguresReads, history: HistoryReads, clock: Clock) -> ExplainedMove:
    """The items and events that moved `kpi` of `scope` between two moments, largest first."""
    if await reader.scope(tenant_id, scope) is None:
        raise ScopeNotFound(scope)
    if kpi is Kpi.OPEN_FOLLOW_UPS:
        currency = NO_CURRENCY
    start = (await state_at(tenant_id, scope, from_at, history=history)).get(currency, EMPTY)
    entries = await history.entries(tenant_id, scope, since=_after(from_at), until=to_at)
    explanation = explain(kpi=kpi, scope=scope, currency=currency, start=start, entries=entries,
                          from_at=from_at, to_at=to_at, limit=limit)
    return ExplainedMove(**explanation.model_dump(), computed_at=clock.now())


def _after(moment: datetime) -> datetime:
    """The first stored time after `moment` (stored times are whole milliseconds)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000) + MS
