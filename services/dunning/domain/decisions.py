"""What the scheduler decides for one client and one step on one day, and the proof it keeps.

One decision per (client, step, day): the items it concerns go out together in one email or one
agenda entry; items suppressed right before sending are recorded with their reason, never dropped.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.dunning.domain.messages import CompanyProfile, email_request, step_action
from services.dunning.domain.progress import ItemDue, Reason, Suppression, after, suppressed_by
from services.dunning.domain.scenarios import Scenario, Step, StepType
from services.dunning.domain.state import ClientState, ItemState, StatusRule
from shared.contracts.dunning import StepOutcome
from shared.contracts.email import EmailPurpose, EmailRequested


class AgendaState(StrEnum):
    OPEN = "open"  # waits for the collector (perform, or confirm an automatic step)
    DONE = "done"  # performed, or confirmed and sent
    SKIPPED = "skipped"  # the collector chose not to do it


class RecordItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    item_id: str
    number: str
    due_date: date
    open_amount: Decimal
    currency: str
    days_overdue: int
    detail: str | None = None


class StepRecord(BaseModel):
    """Proof of one outcome of a step for items of one client: why it went, waits, or did not go."""

    model_config = ConfigDict(extra="ignore")

    record_id: str
    group_key: str
    group_base: str
    tenant_id: str
    client_id: str
    scenario_code: str
    scenario_version: int
    step_code: str
    step_name: str
    step_type: StepType
    offset_days: int
    due_on: date
    outcome: StepOutcome
    reason_code: Reason
    reason: str
    items: list[RecordItem]
    passed_over: list[str] = Field(default_factory=list)
    needs_confirmation: bool = False
    agenda_state: AgendaState | None = None
    agenda_on: date | None = None
    idempotency_key: str | None = None
    email_request_id: str | None = None
    recorded_at: datetime
    trail: list[dict[str, Any]] = Field(default_factory=list, description="Agenda actions on this entry")

    @property
    def item_ids(self) -> list[str]:
        return [item.item_id for item in self.items]


@dataclass
class GroupDecision:
    records: list[StepRecord] = field(default_factory=list)
    item_updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    email: EmailRequested | None = None


def group_base(tenant_id: str, client_id: str, scenario_code: str, step_code: str, day: date) -> str:
    """Names one (client, step, day): the idempotency key of the email that step sends that day."""
    return f"{tenant_id}|{client_id}|{scenario_code}|{step_code}|{day.isoformat()}"


def next_group_key(base: str, used: set[str]) -> str:
    """The base key, or base|2, base|3… when items of the client came due later the same day."""
    if base not in used:
        return base
    sequence = 2
    while f"{base}|{sequence}" in used:
        sequence += 1
    return f"{base}|{sequence}"


def decide_group(
    due: Sequence[ItemDue],
    *,
    key: str,
    base_key: str,
    tenant_id: str,
    client: ClientState,
    scenario: Scenario,
    statuses: dict[str, StatusRule],
    company: CompanyProfile,
    today: date,
    now: datetime,
) -> GroupDecision:
    """Check every item again, then send, put in the agenda, or record why not."""
    step = due[0].step
    next_code = after(scenario, step)
    decision = GroupDecision()
    suppressed: dict[Reason, list[tuple[ItemDue, Suppression]]] = defaultdict(list)
    live: list[ItemDue] = []
    for entry in due:
        why_not = suppressed_by(entry.item, client, statuses)
        if why_not is None:
            live.append(entry)
        else:
            suppressed[why_not.reason].append((entry, why_not))
            decision.item_updates[entry.item.item_id] = {"next_step": None if entry.item.closed else next_code}
    base = dict(group_key=key, group_base=base_key, tenant_id=tenant_id, client_id=client.client_id, scenario_code=scenario.code,
                scenario_version=scenario.version, step_code=step.code, step_name=step.name, step_type=step.type,
                offset_days=step.offset_days, due_on=today, recorded_at=now)
    for reason, entries in suppressed.items():
        details = sorted({s.detail for _, s in entries})
        decision.records.append(StepRecord(
            **base, record_id=f"{key}|skipped|{reason.value}", outcome=StepOutcome.SKIPPED, reason_code=reason,
            reason=f"{step.label} not sent: " + "; ".join(details),
            items=[_record_item(e.item, today, s.detail) for e, s in entries],
            passed_over=_passed_over(e for e, _ in entries),
        ))
    if live:
        decision.records.append(_live_record(live, base, key=key, step=step, client=client, scenario=scenario,
                                             statuses=statuses, company=company, today=today, decision=decision))
        for entry in live:
            decision.item_updates[entry.item.item_id] = {
                "done_step": step.code, "done_offset": step.offset_days, "done_on": today, "next_step": next_code,
                "resumed": None,
            }
    return decision


def _live_record(
    live: list[ItemDue], base: dict[str, Any], *, key: str, step: Step, client: ClientState, scenario: Scenario,
    statuses: dict[str, StatusRule], company: CompanyProfile, today: date, decision: GroupDecision,
) -> StepRecord:
    items = [entry.item for entry in live]
    why = _why_it_goes(live, step, today)
    record_items = [_record_item(entry.item, today, _item_note(entry)) for entry in live]
    passed_over = _passed_over(live)
    if not step.automatic:
        return StepRecord(**base, record_id=f"{key}|in_agenda", outcome=StepOutcome.IN_AGENDA,
                          reason_code=Reason.MANUAL_STEP, reason=f"{why}; a {step.type.value} is performed by the "
                          "collector", items=record_items, passed_over=passed_over, agenda_state=AgendaState.OPEN,
                          agenda_on=today)
    if step.to_be_confirmed:
        return StepRecord(**base, record_id=f"{key}|in_agenda", outcome=StepOutcome.IN_AGENDA,
                          reason_code=Reason.AWAITING_CONFIRMATION, reason=f"{why}; waits for the collector's "
                          "confirmation", items=record_items, passed_over=passed_over, needs_confirmation=True,
                          agenda_state=AgendaState.OPEN, agenda_on=today)
    email = build_step_email(key=key, step=step, client=client, items=items, scenario=scenario, statuses=statuses,
                             company=company, today=today)
    if email is None:
        return StepRecord(**base, record_id=f"{key}|skipped|{Reason.NO_RECIPIENT.value}", outcome=StepOutcome.SKIPPED,
                          reason_code=Reason.NO_RECIPIENT, reason=f"{step.label} not sent: the client has no contact "
                          "with a deliverable email address", items=record_items, passed_over=passed_over)
    decision.email = email
    return StepRecord(**base, record_id=f"{key}|sent", outcome=StepOutcome.SENT, reason_code=Reason.STEP_DUE,
                      reason=why, items=record_items, passed_over=passed_over, idempotency_key=email.idempotency_key,
                      email_request_id=email.request_id)


def build_step_email(
    *, key: str, step: Step, client: ClientState, items: Sequence[ItemState], scenario: Scenario,
    statuses: dict[str, StatusRule], company: CompanyProfile, today: date,
) -> EmailRequested | None:
    template = scenario.template(step.template_code)
    if template is None:
        return None
    return email_request(
        idempotency_key=f"dunning|{key}", purpose=EmailPurpose.DUNNING_REMINDER, client=client, items=items,
        statuses=statuses, variants=template.variants, default_language=scenario.default_language, company=company,
        action=step_action(group_key=key, name=step.name, type_=step.type.action_type, on=today, client=client),
        as_of=today, template_id=f"{scenario.code}/{template.code}",
    )


def _why_it_goes(live: list[ItemDue], step: Step, today: date) -> str:
    numbers = ", ".join(sorted(entry.item.number for entry in live))
    return (f"{step.label} due (due date + {step.offset_days} days reached by {today.isoformat()}) for {numbers}: "
            "open, not held by an action, no status taking it out of dunning, client not excluded")


def _item_note(entry: ItemDue) -> str | None:
    notes = []
    if entry.item.resumed is not None:
        notes.append(f"re-entered the flow on {entry.item.resumed.on.isoformat()} ({entry.item.resumed.reason}); "
                     f"its age calls for {entry.step.label}")
    if entry.passed_over:
        notes.append("passed over (no burst): " + ", ".join(step.label for step in entry.passed_over))
    return "; ".join(notes) or None


def _passed_over(entries: Any) -> list[str]:
    return sorted({step.code for entry in entries for step in entry.passed_over})


def _record_item(item: ItemState, today: date, detail: str | None) -> RecordItem:
    return RecordItem(item_id=item.item_id, number=item.number, due_date=item.due_date, open_amount=item.open_amount,
                      currency=item.currency, days_overdue=max((today - item.due_date).days, 0), detail=detail)
