"""The in-memory history, figures and recompute reads, the transaction object and the unit of work:
every port of the indicators over one `InMemoryStore`, as `create_app(adapters=...)` takes them."""

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.indicators.domain.facts import ClientFacts, ScopeKind, StatusFacts, scope_key
from services.indicators.domain.figures import EMPTY, AggregateKey, Figures
from services.indicators.domain.history import LogEntry, start_of
from services.indicators.domain.kpis import ReportingCurrency
from services.indicators.ports import Adapters, HeldAction, HeldItem, ScopeFigures
from tests.indicators.fakes.store import InMemoryStore
from tests.support.memory import MemoryOutgoing, MemoryUnitOfWork


@dataclass(frozen=True)
class InMemoryHistory:
    """`HistoryLog` and `HistoryReads` over the store's log: closings kept per tenant, scope and currency."""

    state: InMemoryStore

    async def tenants(self) -> list[str]:
        return sorted({tenant_id for tenant_id, key in self.state.touched if key.scope == scope_key(ScopeKind.TENANT)})

    async def closed_through(self, tenant_id: str) -> date | None:
        return self.state.closed_through.get(tenant_id)

    async def first_day(self, tenant_id: str) -> date | None:
        days = [at.date() for (t, key), at in self.state.created.items()
                if t == tenant_id and key.scope == scope_key(ScopeKind.TENANT)]
        return min(days, default=None)

    async def day_entries(self, tenant_id: str, day: date) -> list[LogEntry]:
        return [entry for entry in self.state.history.get(tenant_id, [])
                if start_of(day) <= entry.at < start_of(day + timedelta(days=1))]

    async def save_closing(self, tenant_id: str, day: date, sums: Mapping[tuple[str, str], Figures]) -> None:
        for (scope, currency), delta in sums.items():
            figures = self.state.closed.get((tenant_id, scope, currency), EMPTY) + delta
            self.state.closed[(tenant_id, scope, currency)] = figures
            self.state.daily.setdefault((tenant_id, scope, currency), []).append((day, figures))
        self.state.closed_through[tenant_id] = day

    async def entries(self, tenant_id: str, scope: str, *, since: datetime | None, until: datetime) -> list[LogEntry]:
        found = [entry for entry in self.state.history.get(tenant_id, [])
                 if scope in entry.scopes and entry.at <= until and (since is None or entry.at >= since)]
        return sorted(found, key=lambda entry: entry.at)  # stable: in the order appended, like `_id`

    async def closed_state(self, tenant_id: str, scope: str, day: date) -> dict[str, Figures]:
        latest = {currency: figures for _, currency, figures in await self.closings(tenant_id, scope, through=day)}
        return {currency: figures for currency, figures in latest.items() if figures}

    async def closings(self, tenant_id: str, scope: str, *, through: date) -> list[tuple[date, str, Figures]]:
        rows = [(day, currency, figures) for (t, s, currency), days in self.state.daily.items()
                if t == tenant_id and s == scope for day, figures in days if day <= through]
        return sorted(rows, key=lambda row: (row[0], row[1]))


@dataclass(frozen=True)
class InMemoryFigures:
    """`FiguresReads` over the store's aggregates (an aggregate once touched exists, as a document does)."""

    state: InMemoryStore

    async def scope(self, tenant_id: str, scope: str) -> ScopeFigures | None:
        keys = [key for (t, key) in self.state.touched if t == tenant_id and key.scope == scope]
        if not keys:
            return None
        figures = self.state.aggregates.get(tenant_id, {})
        return ScopeFigures(by_currency={key.currency: figures.get(key, EMPTY) for key in keys},
                            updated_at=max(self.state.touched[(tenant_id, key)][0] for key in keys),
                            last_event_at=max(self.state.touched[(tenant_id, key)][1] for key in keys))

    async def scopes(self, tenant_id: str, scopes: list[str]) -> dict[str, dict[str, Figures]]:
        found: dict[str, dict[str, Figures]] = {scope: {} for scope in scopes}
        for (t, key) in self.state.touched:
            if t == tenant_id and key.scope in found:
                found[key.scope][key.currency] = self.state.aggregates.get(tenant_id, {}).get(key, EMPTY)
        return found

    async def group_members(self, tenant_id: str, group_id: str) -> list[ClientFacts]:
        members = [facts for (t, _), facts in self.state.client_facts.items()
                   if t == tenant_id and facts.group_id == group_id]
        return sorted(members, key=lambda c: (c.entity_id, c.client_id))

    async def reporting_currency(self, tenant_id: str) -> ReportingCurrency | None:
        return self.state.reporting.get(tenant_id)

    async def set_reporting_currency(self, tenant_id: str, reporting: ReportingCurrency | None) -> None:
        if reporting is None:
            self.state.reporting.pop(tenant_id, None)
        else:
            self.state.reporting[tenant_id] = reporting


@dataclass(frozen=True)
class InMemoryRecomputeReads:
    """`RecomputeReads` over the store."""

    state: InMemoryStore

    async def facts(self, tenant_id: str) -> tuple[dict[str, ClientFacts], dict[str, StatusFacts]]:
        return ({k: f for (t, k), f in self.state.client_facts.items() if t == tenant_id},
                {k: f for (t, k), f in self.state.status_facts.items() if t == tenant_id})

    async def all_items(self, tenant_id: str) -> AsyncIterator[HeldItem]:
        for (t, _), held in list(self.state.items.items()):
            if t == tenant_id:
                yield held

    async def all_actions(self, tenant_id: str) -> AsyncIterator[HeldAction]:
        for (t, _), held in list(self.state.actions.items()):
            if t == tenant_id:
                yield held

    async def aggregates(self, tenant_id: str) -> dict[AggregateKey, Figures]:
        return self.state.figures(tenant_id)

    async def log(self, tenant_id: str) -> AsyncIterator[LogEntry]:
        for entry in list(self.state.history.get(tenant_id, [])):
            yield entry


@dataclass(frozen=True)
class FakeTx:
    """`Tx` over the in-memory store."""

    store: InMemoryStore
    history: InMemoryHistory
    recompute_reads: InMemoryRecomputeReads


def bind(state: InMemoryStore, outgoing: MemoryOutgoing) -> FakeTx:
    return FakeTx(store=state, history=InMemoryHistory(state), recompute_reads=InMemoryRecomputeReads(state))


class FakeUnitOfWork(MemoryUnitOfWork[InMemoryStore, FakeTx]):
    """The in-memory unit of work over the indicators' fakes."""

    def __init__(self, state: InMemoryStore) -> None:
        super().__init__(state, bind)


def fake_adapters(store: InMemoryStore | None = None) -> Adapters:
    """Every port of the service in memory, over one store."""
    state = store or InMemoryStore()
    return Adapters(uow=FakeUnitOfWork(state), figures=InMemoryFigures(state), history=InMemoryHistory(state))
