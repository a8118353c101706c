"""Dry runs: what the saved scenarios will do over the next days, and what saving a change would change."""

from datetime import date, timedelta

from services.dunning.domain.preview import ChangedStep, ProjectedStep, diff, project
from services.dunning.domain.scenarios import Scenario, ScenarioDraft, ensure_valid, scenario_for
from services.dunning.domain.state import ItemState
from services.dunning.handlers.scenarios import get_scenario, list_scenarios
from services.dunning.ports import DunningUnitOfWork, Tx
from shared.platform.clock import Clock


async def preview(tenant_id: str, *, days: int, client_id: str | None, uow: DunningUnitOfWork, clock: Clock,
                  start: date | None = None) -> list[ProjectedStep]:
    """What the saved scenarios will do from `start` (today) for `days` days, for a client or all."""
    scenarios = await list_scenarios(tenant_id, uow=uow, clock=clock)
    start = start or clock.today()
    tx = uow.reading()
    items = await _items_in_view(tenant_id, tx, scenarios, client_id=client_id, start=start, days=days)
    clients = await tx.clients.clients_by_id(tenant_id, {item.client_id for item in items})
    statuses = await tx.clients.status_rules(tenant_id)
    return project(items, scenarios={s.code: s for s in scenarios}, clients=clients, statuses=statuses,
                   start=start, days=days)


async def preview_change(tenant_id: str, code: str, draft: ScenarioDraft, *, days: int, client_id: str | None,
                         uow: DunningUnitOfWork, clock: Clock) -> list[ChangedStep]:
    """Per item and day, what saving `draft` over scenario `code` would change (nothing is saved)."""
    ensure_valid(draft)
    saved = await get_scenario(tenant_id, code, uow=uow, clock=clock)
    proposed = Scenario(**draft.model_dump(), tenant_id=tenant_id, version=saved.version + 1)
    start = clock.today()
    tx = uow.reading()
    items = [item for item in await _items_in_view(tenant_id, tx, [saved], client_id=client_id, start=start,
                                                   days=days, proposed=proposed)
             if item.scenario_code == saved.code]
    clients = await tx.clients.clients_by_id(tenant_id, {item.client_id for item in items})
    statuses = await tx.clients.status_rules(tenant_id)
    return diff(items, saved=saved, proposed=proposed, clients=clients, statuses=statuses, start=start, days=days)


async def _items_in_view(tenant_id: str, tx: Tx, scenarios: list[Scenario], *, client_id: str | None, start: date,
                         days: int, proposed: Scenario | None = None) -> list[ItemState]:
    """The client's items on its scenario; or, for all clients, the items the window can reach."""
    if client_id is not None:
        client = await tx.clients.client(tenant_id, client_id)
        scenario = scenario_for(scenarios, client.scenario_code if client else None)
        items = await tx.items.items_of_client(tenant_id, client_id)
        return [i for i in items if scenario is not None and i.scenario_code == scenario.code]
    found: dict[str, ItemState] = {}
    for scenario in scenarios:
        offsets = [s.offset_days for s in scenario.steps] + ([s.offset_days for s in proposed.steps] if proposed else [])
        first = start - timedelta(days=max(offsets))
        last = start + timedelta(days=days - min(offsets))
        for item in await tx.items.items_due_between(tenant_id, scenario, first, last):
            found[item.item_id] = item
        for step in scenario.steps:  # items behind (resumed, imported late) whatever their due date
            for item in await tx.items.due_items(tenant_id, scenario.code, step.code,
                                                 start - timedelta(days=step.offset_days)):
                found[item.item_id] = item
    return list(found.values())
