"""An in-memory `IndicatorStore`: the state every in-memory port of the service works on."""

import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from services.indicators.domain.facts import ClientFacts, StatusFacts, count_action, count_item
from services.indicators.domain.figures import AggregateKey, Figures, accumulate
from services.indicators.domain.history import LogEntry
from services.indicators.domain.kpis import ReportingCurrency
from services.indicators.domain.rebuild import Difference, compare, rebuild
from services.indicators.ports import (
    Change,
    Definition,
    HeldAction,
    HeldItem,
    Keys,
    Loaded,
    Recorded,
    Saved,
    Stamp,
    TenantKey,
)
from shared.contracts.values import ItemSnapshot

TENANT = "acme"
K = TypeVar("K")
V = TypeVar("V")


class Table(dict[K, V]):
    """A table of the in-memory state. Its rows are never changed in place (frozen models, `Figures`,
    tuples; nested dicts and lists are replaced or copied here), so the copy the unit of work takes
    before each transaction, to restore on failure, copies the tables and shares the rows: a deep copy
    of every pydantic model made the property tests a quarter slower."""

    def __deepcopy__(self, memo: dict[int, Any]) -> "Table[K, V]":
        return Table({key: copy.copy(row) if isinstance(row, (dict, list)) else row  # type: ignore[misc]
                      for key, row in self.items()})


class InMemoryStore:
    """Same contract as the MongoDB store; transactions are trivially atomic (nothing awaits I/O)."""

    def __init__(self) -> None:
        self.items: Table[tuple[str, str], HeldItem] = Table()
        self.actions: Table[tuple[str, str], HeldAction] = Table()
        self.client_facts: Table[tuple[str, str], ClientFacts] = Table()
        self.status_facts: Table[tuple[str, str], StatusFacts] = Table()
        self.defined_at: Table[tuple[str, str, str], Stamp] = Table()
        self.aggregates: Table[str, dict[AggregateKey, Figures]] = Table()
        self.history: Table[str, list[LogEntry]] = Table()
        self.touched: Table[tuple[str, AggregateKey], tuple[datetime, datetime]] = Table()  # (applied at, event time)
        self.created: Table[tuple[str, AggregateKey], datetime] = Table()
        self.closed_through: Table[str, date] = Table()
        self.closed: Table[tuple[str, str, str], Figures] = Table()  # (tenant, scope, currency): at the last closing
        self.daily: Table[tuple[str, str, str], list[tuple[date, Figures]]] = Table()  # the closings, day by day
        self.reporting: Table[str, ReportingCurrency] = Table()
        self.loads = 0  # calls to `load` and `record_many`: a batch costs one of each
        self.writes = 0

    async def held_items(self, tenant_id: str, item_ids: Sequence[str]) -> dict[str, HeldItem]:
        return {i: self.items[(tenant_id, i)] for i in item_ids if (tenant_id, i) in self.items}

    async def held_actions(self, tenant_id: str, action_ids: Sequence[str]) -> dict[str, HeldAction]:
        return {i: self.actions[(tenant_id, i)] for i in action_ids if (tenant_id, i) in self.actions}

    async def clients(self, tenant_id: str, client_ids: Sequence[str]) -> dict[str, ClientFacts]:
        return {i: self.client_facts[(tenant_id, i)] for i in client_ids if (tenant_id, i) in self.client_facts}

    async def statuses(self, tenant_id: str, codes: Sequence[str]) -> dict[str, StatusFacts]:
        return {c: self.status_facts[(tenant_id, c)] for c in codes if (tenant_id, c) in self.status_facts}

    async def load(self, keys: Keys) -> Loaded:
        self.loads += 1
        return Loaded(items={key: self.items[key] for key in keys.items if key in self.items},
                      actions={key: self.actions[key] for key in keys.actions if key in self.actions},
                      clients={key: self.client_facts[key] for key in keys.clients if key in self.client_facts},
                      statuses={key: self.status_facts[key] for key in keys.statuses if key in self.status_facts})

    async def mark_facts_read(self, clients: Iterable[TenantKey], statuses: Iterable[TenantKey]) -> None:
        """Nothing to do: one writer at a time in memory, no concurrent transaction to conflict with."""

    async def save_client(self, tenant_id: str, facts: ClientFacts, *, stamp: Stamp) -> Saved:
        return self._save(self.client_facts, "client", tenant_id, facts.client_id, facts, stamp)

    async def save_status(self, tenant_id: str, facts: StatusFacts, *, stamp: Stamp) -> Saved:
        return self._save(self.status_facts, "status", tenant_id, facts.code, facts, stamp)

    def _save(self, table: dict[tuple[str, str], Any], kind: str, tenant_id: str, key: str, facts: Any,
              stamp: Stamp) -> Saved:
        previous = table.get((tenant_id, key))
        if previous is not None and previous.version >= facts.version:
            return Saved(saved=False, previous=previous)
        table[(tenant_id, key)] = facts
        self.defined_at[(kind, tenant_id, key)] = stamp
        return Saved(saved=True, previous=previous)

    async def record(self, tenant_id: str, changes: Sequence[Change], *, stamp: Stamp) -> None:
        await self.record_many([Recorded(tenant_id, one, stamp) for one in changes])

    async def record_many(self, recorded: Sequence[Recorded]) -> None:
        self.writes += 1
        for one in recorded:
            tenant_id, change_ = one.tenant_id, one.change
            if isinstance(change_.snapshot, ItemSnapshot):
                held = HeldItem(change_.snapshot, change_.after)  # type: ignore[arg-type]
                self.items[(tenant_id, change_.subject_id)] = held
            else:
                self.actions[(tenant_id, change_.subject_id)] = HeldAction(change_.snapshot,
                                                                           change_.after)  # type: ignore[arg-type]
            deltas = change_.deltas
            if deltas:
                accumulate(self.aggregates.setdefault(tenant_id, {}), deltas)
                self.history.setdefault(tenant_id, []).append(LogEntry(
                    at=one.stamp.at, event=one.stamp.event, subject_kind=change_.subject_kind,  # type: ignore[arg-type]
                    subject_id=change_.subject_id, client_id=change_.snapshot.client_id, before=change_.before,
                    after=change_.after, scopes=change_.scopes))
            for key in deltas:
                at, event_time = self.touched.get((tenant_id, key), (one.stamp.at, one.stamp.event.event_time))
                self.touched[(tenant_id, key)] = (max(at, one.stamp.at), max(event_time, one.stamp.event.event_time))
                self.created.setdefault((tenant_id, key), one.stamp.at)

    async def correct(self, tenant_id: str, aggregates: Mapping[AggregateKey, Figures],
                      entries: Sequence[LogEntry], *, stamp: Stamp) -> None:
        accumulate(self.aggregates.setdefault(tenant_id, {}), dict(aggregates))
        self.history.setdefault(tenant_id, []).extend(entries)

    async def item_ids_of_client(self, tenant_id: str, client_id: str) -> list[str]:
        return [i for (t, i), held in self.items.items() if t == tenant_id and held.snapshot.client_id == client_id]

    async def action_ids_of_client(self, tenant_id: str, client_id: str) -> list[str]:
        return [i for (t, i), held in self.actions.items() if t == tenant_id and held.snapshot.client_id == client_id]

    async def item_ids_counted_under(self, tenant_id: str, status_code: str, rules: Sequence[str]) -> list[str]:
        return [i for (t, i), held in self.items.items()
                if t == tenant_id and held.counted.status_code == status_code and held.counted.status_rule in rules]

    async def recently_defined(self, since: datetime) -> tuple[list[Definition], list[Definition]]:
        found: dict[str, list[Definition]] = {"client": [], "status": []}
        for (kind, tenant_id, key), stamp in self.defined_at.items():
            if stamp.at >= since:
                found[kind].append(Definition(tenant_id, key, stamp.event))
        return found["client"], found["status"]

    # -- what the tests check --

    def figures(self, tenant_id: str = TENANT) -> dict[AggregateKey, Figures]:
        return dict(self.aggregates.get(tenant_id, {}))

    def recomputed(self, tenant_id: str = TENANT) -> dict[AggregateKey, Figures]:
        """Every aggregate rebuilt from scratch from the snapshots and the current facts."""
        clients = {k: f for (t, k), f in self.client_facts.items() if t == tenant_id}
        statuses = {k: f for (t, k), f in self.status_facts.items() if t == tenant_id}
        counted = [count_item(h.snapshot, client=clients.get(h.snapshot.client_id),
                              status=statuses.get(h.snapshot.status_code or ""))
                   for (t, _), h in self.items.items() if t == tenant_id]
        counted += [count_action(h.snapshot, client=clients.get(h.snapshot.client_id))
                    for (t, _), h in self.actions.items() if t == tenant_id]
        return rebuild(counted)

    def differences(self, tenant_id: str = TENANT) -> list[Difference]:
        return compare(self.figures(tenant_id), self.recomputed(tenant_id))

    def history_sums(self, tenant_id: str = TENANT) -> dict[AggregateKey, Figures]:
        totals: dict[AggregateKey, Figures] = {}
        for entry in self.history.get(tenant_id, []):
            accumulate(totals, {AggregateKey(*key): figures for key, figures in entry.deltas().items()})
        return totals
