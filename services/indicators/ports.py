"""What the handlers are written against: the indicator store, the history, what a recompute reads,
the figures the API reads, the transaction object a unit of work hands out (`Tx`), and `Adapters`,
the bundle the composition root builds (MongoDB) or a test passes (in-memory fakes). There is no
publisher port: the indicators publish no event (their unit of work's outbox stays unused)."""

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from services.indicators.domain.facts import (
    ClientFacts,
    Counted,
    CountedAction,
    CountedItem,
    StatusFacts,
)
from services.indicators.domain.figures import AggregateKey, Figures
from services.indicators.domain.history import EventRef, LogEntry
from services.indicators.domain.kpis import ReportingCurrency
from shared.contracts.values import ActionSnapshot, ItemSnapshot
from shared.ports import UnitOfWork


@dataclass(frozen=True)
class HeldItem:
    """The newest snapshot of an item the service holds, and what it was counted as."""

    snapshot: ItemSnapshot
    counted: CountedItem


@dataclass(frozen=True)
class HeldAction:
    """The newest snapshot of an action the service holds, and what it was counted as."""

    snapshot: ActionSnapshot
    counted: CountedAction


@dataclass(frozen=True)
class Change:
    """A subject's new state and count; the figures change by `contribution(after) - contribution(before)`.

    The difference (`deltas`) and the scopes it concerns are the rules' (`domain`), worked out by the
    handler that states the change (`handlers.changes.changed`): a store only writes them."""

    snapshot: ItemSnapshot | ActionSnapshot
    before: Counted | None
    after: Counted
    deltas: dict[AggregateKey, Figures] = field(compare=False)
    scopes: list[str] = field(compare=False)

    @property
    def subject_kind(self) -> str:
        return "item" if isinstance(self.snapshot, ItemSnapshot) else "action"

    @property
    def subject_id(self) -> str:
        return self.snapshot.item_id if isinstance(self.snapshot, ItemSnapshot) else self.snapshot.action_id


@dataclass(frozen=True)
class Stamp:
    """When a change was applied, and which event caused it (kept in the history)."""

    at: datetime
    event: EventRef


@dataclass(frozen=True)
class Recorded:
    """One change to store, with the tenant and the stamp it was applied under (a batch mixes them)."""

    tenant_id: str
    change: Change
    stamp: Stamp


TenantKey = tuple[str, str]  # (tenant_id, id): items, actions, clients and statuses are per tenant


@dataclass
class Keys:
    """What a batch of changes will read, across tenants: loaded in one query per collection."""

    items: set[TenantKey] = field(default_factory=set)
    actions: set[TenantKey] = field(default_factory=set)
    clients: set[TenantKey] = field(default_factory=set)
    statuses: set[TenantKey] = field(default_factory=set)

    def add(self, other: "Keys") -> None:
        self.items |= other.items
        self.actions |= other.actions
        self.clients |= other.clients
        self.statuses |= other.statuses


@dataclass
class Loaded:
    """What `IndicatorStore.load` found; a key absent here is not held."""

    items: dict[TenantKey, HeldItem] = field(default_factory=dict)
    actions: dict[TenantKey, HeldAction] = field(default_factory=dict)
    clients: dict[TenantKey, ClientFacts] = field(default_factory=dict)
    statuses: dict[TenantKey, StatusFacts] = field(default_factory=dict)


@dataclass(frozen=True)
class Saved:
    """Outcome of saving versioned facts: whether they were newer, and what was held before."""

    saved: bool
    previous: Any


@dataclass(frozen=True)
class Definition:
    """A client's or status' facts changed recently, by this event (for the settling pass)."""

    tenant_id: str
    key: str
    event: EventRef


class Counting(Protocol):
    """What applying a change needs: reads by id, and recording the result."""

    async def held_items(self, tenant_id: str, item_ids: Sequence[str]) -> dict[str, HeldItem]: ...

    async def held_actions(self, tenant_id: str, action_ids: Sequence[str]) -> dict[str, HeldAction]: ...

    async def clients(self, tenant_id: str, client_ids: Sequence[str]) -> dict[str, ClientFacts]: ...

    async def statuses(self, tenant_id: str, codes: Sequence[str]) -> dict[str, StatusFacts]: ...

    async def record(self, tenant_id: str, changes: Sequence[Change], *, stamp: Stamp) -> None:
        """Store the subjects' new state, add the differences to the aggregates, append the history."""
        ...


class IndicatorStore(Counting, Protocol):
    """The store of one transaction (or of none, for reads that need no snapshot)."""

    async def load(self, keys: Keys) -> Loaded:
        """Everything `keys` names, across tenants, in one query per collection."""
        ...

    async def record_many(self, recorded: Sequence[Recorded]) -> None:
        """`record` for a batch: each subject written once (its last state), each aggregate changed once
        (the differences summed), one history entry per change."""
        ...

    async def mark_facts_read(self, clients: Iterable[TenantKey], statuses: Iterable[TenantKey]) -> None:
        """Write on the client and status documents a counting transaction read (a placeholder for one
        not defined yet): a concurrent change of those facts then conflicts with it, and one of the two
        is retried seeing the other, so no item stays counted with facts replaced meanwhile."""
        ...

    async def save_client(self, tenant_id: str, facts: ClientFacts, *, stamp: Stamp) -> Saved: ...

    async def save_status(self, tenant_id: str, facts: StatusFacts, *, stamp: Stamp) -> Saved: ...

    async def correct(self, tenant_id: str, aggregates: Mapping[AggregateKey, Figures],
                      entries: Sequence[LogEntry], *, stamp: Stamp) -> None:
        """Add `aggregates` to the stored aggregates and append `entries` to the history (a repair)."""
        ...

    async def item_ids_of_client(self, tenant_id: str, client_id: str) -> list[str]: ...

    async def action_ids_of_client(self, tenant_id: str, client_id: str) -> list[str]: ...

    async def item_ids_counted_under(self, tenant_id: str, status_code: str, rules: Sequence[str]) -> list[str]:
        """Items with `status_code` that were counted under one of `rules` (indexed)."""
        ...

    async def recently_defined(self, since: datetime) -> tuple[list[Definition], list[Definition]]:
        """Clients and statuses whose facts changed since `since`, across tenants."""
        ...


class RecomputeReads(Protocol):
    """What a recompute reads of one tenant: every snapshot with its count, the facts, the stored
    aggregates and the whole history (streamed: a tenant may hold a million items)."""

    async def facts(self, tenant_id: str) -> tuple[dict[str, ClientFacts], dict[str, StatusFacts]]:
        """The tenant's defined clients (by id) and statuses (by code)."""
        ...

    def all_items(self, tenant_id: str) -> AsyncIterator[HeldItem]: ...

    def all_actions(self, tenant_id: str) -> AsyncIterator[HeldAction]: ...

    async def aggregates(self, tenant_id: str) -> dict[AggregateKey, Figures]: ...

    def log(self, tenant_id: str) -> AsyncIterator[LogEntry]:
        """The tenant's whole history, in no particular order."""
        ...


class HistoryLog(Protocol):
    """Closing days of history into daily points (the close-history worker), in one transaction."""

    async def tenants(self) -> list[str]:
        """Every tenant with figures."""
        ...

    async def closed_through(self, tenant_id: str) -> date | None: ...

    async def first_day(self, tenant_id: str) -> date | None:
        """The day the tenant's first change was applied."""
        ...

    async def day_entries(self, tenant_id: str, day: date) -> list[LogEntry]:
        """The tenant's changes applied on `day` (UTC), in no particular order."""
        ...

    async def save_closing(self, tenant_id: str, day: date, sums: Mapping[tuple[str, str], Figures]) -> None:
        """Add the day's differences per (scope, currency) to the figures closed before, keep the result
        as the day's points, and mark the tenant closed through `day` (in the transaction)."""
        ...


class HistoryReads(Protocol):
    """The history as the KPI API reads it: states at past moments, daily closings, log entries."""

    async def entries(self, tenant_id: str, scope: str, *, since: datetime | None,
                      until: datetime) -> list[LogEntry]:
        """A scope's changes with `since <= at <= until`, in the order they were applied."""
        ...

    async def closed_through(self, tenant_id: str) -> date | None: ...

    async def closed_state(self, tenant_id: str, scope: str, day: date) -> dict[str, Figures]:
        """A scope's figures at the end of a closed `day`: its latest closing per currency up to it."""
        ...

    async def closings(self, tenant_id: str, scope: str, *, through: date) -> list[tuple[date, str, Figures]]:
        """Every closing of a scope up to `through`, oldest first."""
        ...


@dataclass(frozen=True)
class ScopeFigures:
    """A scope's current figures per currency, and how fresh they are."""

    by_currency: dict[str, Figures]
    updated_at: datetime | None
    last_event_at: datetime | None


class FiguresReads(Protocol):
    """The current figures the KPI API reads, and the tenant's reporting currency (one document each)."""

    async def scope(self, tenant_id: str, scope: str) -> ScopeFigures | None: ...

    async def scopes(self, tenant_id: str, scopes: list[str]) -> dict[str, dict[str, Figures]]: ...

    async def group_members(self, tenant_id: str, group_id: str) -> list[ClientFacts]: ...

    async def reporting_currency(self, tenant_id: str) -> ReportingCurrency | None: ...

    async def set_reporting_currency(self, tenant_id: str, reporting: ReportingCurrency | None) -> None: ...


class Counts(Protocol):
    """What an item or action event's handler sees of its transaction: the counting part of the store
    (in a batch, buffered for the whole transaction)."""

    @property
    def store(self) -> Counting: ...


class Tx(Protocol):
    """The repositories of one transaction, as a unit of work hands them out."""

    @property
    def store(self) -> IndicatorStore: ...

    @property
    def history(self) -> HistoryLog: ...

    @property
    def recompute_reads(self) -> RecomputeReads: ...


class IndicatorsUnitOfWork(UnitOfWork[Tx], Protocol):
    """A unit of work that also joins the consumer's transaction for an event handler."""

    def joined(self, ctx: Any) -> Tx:
        """The repositories of the transaction of `ctx`, the consumer's `EventContext` (typed Any here:
        ports import no platform code)."""
        ...


@dataclass(frozen=True)
class Adapters:
    """What the composition root builds (MongoDB) or a test passes (fakes): the unit of work, and the
    reads of the KPI API that need no transaction."""

    uow: IndicatorsUnitOfWork
    figures: FiguresReads
    history: HistoryReads
