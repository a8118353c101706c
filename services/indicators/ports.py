"""What the handlers need from storage, as a port: MongoDB in production, a dict in the unit tests."""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from services.indicators.domain.facts import (
    ClientFacts,
    Counted,
    CountedAction,
    CountedItem,
    StatusFacts,
)
from services.indicators.domain.history import EventRef
from shared.contracts.values import ActionSnapshot, ItemSnapshot

T = TypeVar("T")
Session = Any  # a MongoDB session inside a transaction, or None for the in-memory store
Transact = Callable[[Callable[[Session], Awaitable[T]]], Awaitable[T]]


@dataclass(frozen=True)
class HeldItem:
    """The newest snapshot of an item the service holds, and what it was counted as."""

    snapshot: ItemSnapshot
    counted: CountedItem


@dataclass(frozen=True)
class HeldAction:
    snapshot: ActionSnapshot
    counted: CountedAction


@dataclass(frozen=True)
class Change:
    """A subject's new state and count; the figures change by `contribution(after) - contribution(before)`."""

    snapshot: ItemSnapshot | ActionSnapshot
    before: Counted | None
    after: Counted

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

    async def held_items(self, tenant_id: str, item_ids: Sequence[str], *, session: Session) -> dict[str, HeldItem]: ...

    async def held_actions(self, tenant_id: str, action_ids: Sequence[str], *,
                           session: Session) -> dict[str, HeldAction]: ...

    async def clients(self, tenant_id: str, client_ids: Sequence[str], *,
                      session: Session) -> dict[str, ClientFacts]: ...

    async def statuses(self, tenant_id: str, codes: Sequence[str], *, session: Session) -> dict[str, StatusFacts]: ...

    async def record(self, tenant_id: str, changes: Sequence[Change], *, stamp: Stamp, session: Session) -> None:
        """Store the subjects' new state, add the differences to the aggregates, append the history."""
        ...


class IndicatorStore(Counting, Protocol):
    async def load(self, keys: Keys, *, session: Session) -> Loaded:
        """Everything `keys` names, across tenants, in one query per collection."""
        ...

    async def record_many(self, recorded: Sequence[Recorded], *, session: Session) -> None:
        """`record` for a batch: each subject written once (its last state), each aggregate changed once
        (the differences summed), one history entry per change."""
        ...

    async def mark_facts_read(self, clients: Iterable[TenantKey], statuses: Iterable[TenantKey], *,
                              session: Session) -> None:
        """Write on the client and status documents a counting transaction read (a placeholder for one
        not defined yet): a concurrent change of those facts then conflicts with it, and one of the two
        is retried seeing the other, so no item stays counted with facts replaced meanwhile."""
        ...

    async def save_client(self, tenant_id: str, facts: ClientFacts, *, stamp: Stamp, session: Session) -> Saved: ...

    async def save_status(self, tenant_id: str, facts: StatusFacts, *, stamp: Stamp, session: Session) -> Saved: ...

    async def item_ids_of_client(self, tenant_id: str, client_id: str) -> list[str]: ...

    async def action_ids_of_client(self, tenant_id: str, client_id: str) -> list[str]: ...

    async def item_ids_counted_under(self, tenant_id: str, status_code: str, rules: Sequence[str]) -> list[str]:
        """Items with `status_code` that were counted under one of `rules` (indexed)."""
        ...

    async def recently_defined(self, since: datetime) -> tuple[list[Definition], list[Definition]]:
        """Clients and statuses whose facts changed since `since`, across tenants."""
        ...
