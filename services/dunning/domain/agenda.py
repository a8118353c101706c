"""The agenda's lines: scenario steps waiting for the collector and specific actions, with what a
collector needs to act (client, items, amounts, the trail of answers)."""

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from services.dunning.domain.decisions import StepRecord
from services.dunning.domain.state import ActionState, ClientState, ItemState, RunState


class AgendaConflict(Exception):
    """The entry is not in a state that allows this answer."""


class AgendaNotFound(Exception):
    """No such agenda entry or action for the tenant."""


class AgendaItem(BaseModel):
    item_id: str
    number: str
    due_date: date | None = None
    open_amount: Decimal | None = None
    currency: str | None = None
    detail: str | None = None


class AgendaEntry(BaseModel):
    """One line of the agenda: a scenario step or a specific action, with what a collector needs to act."""

    kind: str  # scenario_step, specific_action
    id: str
    date: date
    type: str
    name: str
    state: str
    needs_confirmation: bool = False
    outcome: str | None = None
    reason: str | None = None
    client_id: str
    client_number: str | None = None
    client_name: str | None = None
    collector_id: str | None = None
    items: list[AgendaItem] = Field(default_factory=list)
    amounts: dict[str, Decimal] = Field(default_factory=dict)
    trail: list[dict[str, Any]] = Field(default_factory=list)


def amounts(items: list[AgendaItem]) -> dict[str, Decimal]:
    """Open amounts per currency."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        if item.currency and item.open_amount is not None:
            totals[item.currency] += item.open_amount
    return dict(totals)


def record_entry(record: StepRecord, client: ClientState | None) -> AgendaEntry:
    """The agenda line of a scenario step waiting for the collector (or skipped, when asked)."""
    items = [AgendaItem(**item.model_dump()) for item in record.items]
    state = record.agenda_state.value if record.agenda_state else record.outcome.value
    return AgendaEntry(
        kind="scenario_step", id=record.record_id, date=record.agenda_on or record.due_on,
        type=record.step_type.value, name=record.step_name, state=state,
        needs_confirmation=record.needs_confirmation, outcome=record.outcome.value,
        reason=f"{record.reason_code.value}: {record.reason}", client_id=record.client_id,
        client_number=client.number if client else None, client_name=client.name if client else None,
        collector_id=client.collector.user_id if client and client.collector else None, items=items,
        amounts=amounts(items), trail=record.trail,
    )


def action_entry(state: ActionState, client: ClientState | None, known: dict[str, ItemState]) -> AgendaEntry:
    """The agenda line of a specific action; closed items are listed but not counted in the amounts."""
    action = state.action
    items = [AgendaItem(item_id=i, number=known[i].number, due_date=known[i].due_date,
                        open_amount=known[i].open_amount, currency=known[i].currency,
                        detail="closed" if known[i].closed else None) if i in known
             else AgendaItem(item_id=i, number=i) for i in action.item_ids]
    return AgendaEntry(
        kind="specific_action", id=action.action_id, date=action.scheduled_for, type=action.type.value,
        name=action.name, state=state.run_state.value,
        needs_confirmation=state.run_state is RunState.AWAITING_CONFIRMATION,
        client_id=action.client_id, client_number=client.number if client else None,
        client_name=client.name if client else None,
        collector_id=(action.owner.user_id if action.owner else
                      client.collector.user_id if client and client.collector else None),
        items=items, amounts=amounts([i for i in items if i.detail != "closed"]),
    )
