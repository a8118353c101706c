"""The proof per client: every step recorded and every pause or resumption, and where each item stands."""

from typing import Any

from services.dunning.domain.preview import position_in
from services.dunning.domain.progress import due_step, suppressed_by
from services.dunning.domain.scenarios import scenario_for
from services.dunning.domain.state import ClientState
from services.dunning.handlers.scenarios import list_scenarios
from services.dunning.ports import DunningUnitOfWork
from shared.platform.clock import Clock


async def client_history(tenant_id: str, client_id: str, *, limit: int, uow: DunningUnitOfWork
                         ) -> list[dict[str, Any]]:
    """Step records and history entries of the client, newest first."""
    tx = uow.reading()
    records = await tx.records.records_of_client(tenant_id, client_id, limit=limit)
    notes = await tx.records.history_of_client(tenant_id, client_id, limit=limit)
    lines = [{"at": r.recorded_at, "kind": f"step_{r.outcome.value}", "record": r.model_dump(mode="json")}
             for r in records]
    lines += [{"at": n.at, "kind": n.kind, "text": n.text, "item_ids": n.item_ids} for n in notes]
    return sorted(lines, key=lambda line: line["at"], reverse=True)[:limit]


async def client_items(tenant_id: str, client_id: str, *, uow: DunningUnitOfWork, clock: Clock
                       ) -> list[dict[str, Any]]:
    """Per item of the client: its next step and that step's date, what is due now, and why it would not go."""
    tx = uow.reading()
    client = await tx.clients.client(tenant_id, client_id) or ClientState(client_id=client_id)
    scenario = scenario_for(await list_scenarios(tenant_id, uow=uow, clock=clock), client.scenario_code)
    statuses = await tx.clients.status_rules(tenant_id)
    today = clock.today()
    lines = []
    for item in sorted(await tx.items.items_of_client(tenant_id, client_id), key=lambda i: i.due_date):
        step = scenario.step(position_in(item, scenario)) if scenario else None
        due = due_step(item, scenario, today) if scenario else None
        why_not = suppressed_by(item, client, statuses)
        lines.append({
            "item_id": item.item_id, "number": item.number, "due_date": item.due_date, "open_amount": str(item.open_amount),
            "currency": item.currency, "closed": item.closed, "scenario_code": item.scenario_code,
            "held_by_action_id": item.held_by_action_id,
            "last_step": item.done_step, "last_step_on": item.done_on,
            "next_step": step.code if step else None, "next_step_on": step.date_for(item.due_date) if step else None,
            "due_now": due.step.code if due else None,
            "suppressed": {"reason": why_not.reason.value, "detail": why_not.detail} if why_not else None,
            "resumed": item.resumed.model_dump(mode="json") if item.resumed else None,
        })
    return lines
