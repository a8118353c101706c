"""In-memory implementations of every dunning port, for the unit tests: the repositories over one state
object (all or nothing through `tests/support/memory.py`), the real publisher over in-memory outgoing
events, a lease always held. `tests/dunning/contract/test_ports.py` holds them to the MongoDB
adapters' behaviour."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.dunning.adapters.publisher import OutboxPublisher
from services.dunning.adapters.unit_of_work import DunningTx
from services.dunning.domain.decisions import StepRecord
from services.dunning.domain.history import HistoryEntry
from services.dunning.domain.messages import CompanyProfile
from services.dunning.domain.scenarios import Scenario
from services.dunning.domain.state import ActionState, ClientState, ItemState, RunState, StatusRule
from services.dunning.ports import Adapters, Move, Tx
from shared.ports import Duplicate
from tests.support.memory import MemoryOutgoing, MemoryUnitOfWork

Key = tuple[str, str]  # tenant, id
POSITION = ("version", "next_step", "scenario_code")


@dataclass
class DunningState:
    """Everything the dunning collections hold, per tenant and id."""

    scenarios: dict[Key, Scenario] = field(default_factory=dict)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    clients: dict[Key, ClientState] = field(default_factory=dict)
    statuses: dict[Key, StatusRule] = field(default_factory=dict)
    items: dict[Key, ItemState] = field(default_factory=dict)
    actions: dict[Key, ActionState] = field(default_factory=dict)
    records: dict[str, StepRecord] = field(default_factory=dict)
    history: dict[str, HistoryEntry] = field(default_factory=dict)


class FakeScenarios:
    def __init__(self, state: DunningState) -> None:
        self.state = state

    async def scenarios_of(self, tenant_id: str) -> list[Scenario]:
        return sorted((s for (t, _), s in self.state.scenarios.items() if t == tenant_id), key=lambda s: s.code)

    async def scenario(self, tenant_id: str, code: str) -> Scenario | None:
        return self.state.scenarios.get((tenant_id, code))

    async def save_scenario(self, scenario: Scenario, *, at: datetime) -> None:
        self.state.scenarios[(scenario.tenant_id, scenario.code)] = scenario

    async def insert_scenario_if_missing(self, scenario: Scenario, *, at: datetime) -> bool:
        if (scenario.tenant_id, scenario.code) in self.state.scenarios:
            return False
        self.state.scenarios[(scenario.tenant_id, scenario.code)] = scenario
        return True

    async def unset_default(self, tenant_id: str, *, except_code: str) -> None:
        for (t, code), s in list(self.state.scenarios.items()):
            if t == tenant_id and code != except_code:
                self.state.scenarios[(t, code)] = s.model_copy(update={"is_default": False})

    async def delete_scenario(self, tenant_id: str, code: str) -> bool:
        return self.state.scenarios.pop((tenant_id, code), None) is not None

    async def tenants(self) -> list[str]:
        return sorted({t for t, _ in self.state.scenarios})

    async def company(self, tenant_id: str) -> CompanyProfile | None:
        return self.state.settings.get(tenant_id, {}).get("company")

    async def save_company(self, tenant_id: str, company: CompanyProfile) -> None:
        self.state.settings.setdefault(tenant_id, {})["company"] = company

    async def mark_remap(self, tenant_id: str, token: str) -> None:
        self.state.settings.setdefault(tenant_id, {})["remap_token"] = token

    async def remap_token(self, tenant_id: str) -> str | None:
        return self.state.settings.get(tenant_id, {}).get("remap_token")

    async def clear_remap(self, tenant_id: str, token: str) -> None:
        settings = self.state.settings.get(tenant_id, {})
        if settings.get("remap_token") == token:
            del settings["remap_token"]


class FakeClients:
    def __init__(self, state: DunningState) -> None:
        self.state = state

    async def client(self, tenant_id: str, client_id: str) -> ClientState | None:
        return self.state.clients.get((tenant_id, client_id))

    async def clients_by_id(self, tenant_id: str, client_ids: Iterable[str]) -> dict[str, ClientState]:
        return {cid: c for cid in set(client_ids) if (c := self.state.clients.get((tenant_id, cid)))}

    async def all_clients(self, tenant_id: str) -> dict[str, ClientState]:
        return {cid: c for (t, cid), c in self.state.clients.items() if t == tenant_id}

    async def save_client(self, tenant_id: str, client: ClientState) -> None:
        self.state.clients[(tenant_id, client.client_id)] = client

    async def status_rules(self, tenant_id: str) -> dict[str, StatusRule]:
        return {code: r for (t, code), r in self.state.statuses.items() if t == tenant_id}

    async def save_status(self, tenant_id: str, rule: StatusRule) -> None:
        self.state.statuses[(tenant_id, rule.code)] = rule


class FakeItems:
    def __init__(self, state: DunningState) -> None:
        self.state = state

    def _of(self, tenant_id: str) -> list[ItemState]:
        return [i for (t, _), i in self.state.items.items() if t == tenant_id]

    async def items_by_id(self, tenant_id: str, item_ids: Iterable[str]) -> dict[str, ItemState]:
        return {iid: i for iid in set(item_ids) if (i := self.state.items.get((tenant_id, iid)))}

    async def items_of_client(self, tenant_id: str, client_id: str) -> list[ItemState]:
        return [i for i in self._of(tenant_id) if i.client_id == client_id]

    async def items_with_status(self, tenant_id: str, status_code: str) -> list[ItemState]:
        return [i for i in self._of(tenant_id) if i.status_code == status_code]

    async def all_items(self, tenant_id: str) -> list[ItemState]:
        return self._of(tenant_id)

    async def due_items(self, tenant_id: str, scenario_code: str, step_code: str, due_on_or_before: date,
                        *, limit: int = 0) -> list[ItemState]:
        found = [i for i in self._of(tenant_id) if i.scenario_code == scenario_code and i.next_step == step_code
                 and i.due_date <= due_on_or_before]
        return found[:limit] if limit else found

    async def items_due_between(self, tenant_id: str, scenario: Scenario, first: date, last: date) -> list[ItemState]:
        positions = [step.code for step in scenario.steps] + [None]
        return [i for position in positions for i in self._of(tenant_id)
                if i.scenario_code == scenario.code and i.next_step == position and first <= i.due_date <= last]

    async def save_items(self, tenant_id: str, items: Sequence[ItemState]) -> None:
        for item in items:
            self.state.items[(tenant_id, item.item_id)] = item

    async def set_positions(self, tenant_id: str, items: Sequence[ItemState]) -> None:
        for item in items:
            if (key := (tenant_id, item.item_id)) in self.state.items:
                self.state.items[key] = self.state.items[key].model_copy(
                    update={"next_step": item.next_step, "scenario_code": item.scenario_code})

    async def move_items(self, tenant_id: str, moves: Sequence[Move]) -> bool:
        for item, _ in moves:
            now = self.state.items.get((tenant_id, item.item_id))
            if now is None or any(getattr(now, name) != getattr(item, name) for name in POSITION):
                return False
        for item, fields in moves:
            key = (tenant_id, item.item_id)
            self.state.items[key] = ItemState.model_validate({**self.state.items[key].model_dump(), **fields})
        return True

    async def remap(self, tenant_id: str, moves: Sequence[tuple[ItemState, str, str | None]]) -> int:
        for item, scenario_code, next_step in moves:
            now = self.state.items.get(key := (tenant_id, item.item_id))
            if now is not None and all(getattr(now, name) == getattr(item, name) for name in POSITION):
                self.state.items[key] = now.model_copy(update={"scenario_code": scenario_code, "next_step": next_step})
        return len(moves)


class FakeActions:
    def __init__(self, state: DunningState) -> None:
        self.state = state

    async def action(self, tenant_id: str, action_id: str) -> ActionState | None:
        return self.state.actions.get((tenant_id, action_id))

    async def save_action(self, tenant_id: str, state: ActionState) -> None:
        self.state.actions[(tenant_id, state.action.action_id)] = state

    async def actions_to_run(self, today: date, *, limit: int) -> list[tuple[str, ActionState]]:
        due = [(t, a) for (t, _), a in self.state.actions.items()
               if a.run_state is RunState.PENDING and a.run_on <= today]
        return due[:limit]

    async def actions_between(self, tenant_id: str, first: date, last: date) -> list[ActionState]:
        return [a for (t, _), a in self.state.actions.items()
                if t == tenant_id and first <= a.run_on <= last]


class FakeRecords:
    def __init__(self, state: DunningState) -> None:
        self.state = state

    def _of(self, tenant_id: str) -> list[StepRecord]:
        return [r for r in self.state.records.values() if r.tenant_id == tenant_id]

    async def insert_records(self, records: Sequence[StepRecord]) -> None:
        for record in records:  # in order, as an ordered insert_many: those before a duplicate are written
            if record.record_id in self.state.records:
                raise Duplicate(f"step record {record.record_id!r} exists")
            self.state.records[record.record_id] = record

    async def group_keys_used(self, tenant_id: str, bases: Sequence[str]) -> dict[str, set[str]]:
        used: dict[str, set[str]] = {}
        for record in self._of(tenant_id):
            if record.group_base in set(bases):
                used.setdefault(record.group_base, set()).add(record.group_key)
        return used

    async def record(self, tenant_id: str, record_id: str) -> StepRecord | None:
        record = self.state.records.get(record_id)
        return record if record is not None and record.tenant_id == tenant_id else None

    async def replace_record(self, record: StepRecord) -> None:
        if await self.record(record.tenant_id, record.record_id) is not None:
            self.state.records[record.record_id] = record

    async def records_of_client(self, tenant_id: str, client_id: str, *, limit: int) -> list[StepRecord]:
        mine = [r for r in self._of(tenant_id) if r.client_id == client_id]
        return sorted(mine, key=lambda r: r.recorded_at, reverse=True)[:limit]

    async def agenda_records(self, tenant_id: str, first: date, last: date) -> list[StepRecord]:
        return [r for r in self._of(tenant_id) if r.agenda_on is not None and first <= r.agenda_on <= last]

    async def records_between(self, tenant_id: str, first: date, last: date, *, outcome: str) -> list[StepRecord]:
        return [r for r in self._of(tenant_id) if first <= r.due_on <= last and r.outcome == outcome]

    async def add_history(self, entries: Sequence[HistoryEntry]) -> None:
        for entry in entries:
            self.state.history.setdefault(entry.entry_id, entry)

    async def history_of_client(self, tenant_id: str, client_id: str, *, limit: int) -> list[HistoryEntry]:
        mine = [e for e in self.state.history.values() if e.tenant_id == tenant_id and e.client_id == client_id]
        return sorted(mine, key=lambda e: e.at, reverse=True)[:limit]


def bind(state: DunningState, outgoing: MemoryOutgoing) -> Tx:
    """The fakes' transaction object over the shared state."""
    return DunningTx(scenarios=FakeScenarios(state), clients=FakeClients(state), items=FakeItems(state),
                     actions=FakeActions(state), records=FakeRecords(state),
                     publisher=OutboxPublisher(outgoing))


class FakeUnitOfWork(MemoryUnitOfWork[DunningState, Tx]):
    """The in-memory unit of work over the dunning fakes."""

    def __init__(self, state: DunningState | None = None) -> None:
        super().__init__(state or DunningState(), bind)


@dataclass
class FakeLease:
    held: bool = True

    async def acquire(self) -> bool:
        return self.held


def fake_adapters() -> tuple[Adapters, FakeUnitOfWork]:
    """Adapters for `create_app(adapters=...)`, and the unit of work to look into."""
    uow = FakeUnitOfWork()
    return Adapters(uow=uow, lease=FakeLease()), uow
