"""Dry run: what a scenario will do over the next days, and what a changed scenario would change.

Pure simulation of the scheduler's rules (no burst, grouping per client and step and day,
suppression), assuming no new event: a paused item stays paused, an open item stays unpaid.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from services.dunning.domain.messages import recipients_of
from services.dunning.domain.progress import Reason, suppressed_by
from services.dunning.domain.scenarios import Scenario, Step
from services.dunning.domain.state import ClientState, ItemState, StatusRule


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    step_code: str
    step_label: str
    outcome: str  # would_send, in_agenda, skipped
    reason: str


class ProjectedStep(BaseModel):
    """One (day, client, step, outcome) the scheduler would produce."""

    model_config = ConfigDict(frozen=True)

    day: date
    client_id: str
    step_code: str
    step_label: str
    step_type: str
    outcome: str
    reason: str
    item_ids: list[str]
    amounts: dict[str, Decimal] = Field(default_factory=dict)


class ChangedStep(BaseModel):
    """How one item's step on one day differs between the saved and the proposed scenario."""

    model_config = ConfigDict(frozen=True)

    day: date
    client_id: str
    item_id: str
    number: str
    change: str  # added, removed, changed
    before: Outcome | None
    after: Outcome | None


def position_in(item: ItemState, scenario: Scenario) -> str | None:
    """The step the item would look at next under `scenario` (the same rule saving a scenario applies)."""
    if item.closed:
        return None
    if item.scenario_code == scenario.code and item.next_step is not None and scenario.step(item.next_step):
        return item.next_step
    step = scenario.first_step_after(item.done_offset)
    return step.code if step else None


def item_timeline(item: ItemState, scenario: Scenario, start: date, end: date) -> list[tuple[date, Step]]:
    """The days in [start, end] on which the item gets a step, and which one (no burst on the first day)."""
    remaining = scenario.steps_from(position_in(item, scenario))
    timeline: list[tuple[date, Step]] = []
    while remaining:
        first_day = max(start, remaining[0].date_for(item.due_date))
        if first_day > end:
            break
        due = [step for step in remaining if step.date_for(item.due_date) <= first_day]
        timeline.append((first_day, due[-1]))
        remaining = remaining[len(due):]
    return timeline


def _outcome(step: Step, item: ItemState, client: ClientState, statuses: dict[str, StatusRule]) -> Outcome:
    why_not = suppressed_by(item, client, statuses)
    if why_not is not None:
        return Outcome(step_code=step.code, step_label=step.label, outcome="skipped", reason=why_not.detail)
    if not step.automatic:
        return Outcome(step_code=step.code, step_label=step.label, outcome="in_agenda", reason=Reason.MANUAL_STEP.value)
    if step.to_be_confirmed:
        return Outcome(step_code=step.code, step_label=step.label, outcome="in_agenda",
                       reason=Reason.AWAITING_CONFIRMATION.value)
    if not recipients_of(client):
        return Outcome(step_code=step.code, step_label=step.label, outcome="skipped", reason=Reason.NO_RECIPIENT.value)
    return Outcome(step_code=step.code, step_label=step.label, outcome="would_send", reason=Reason.STEP_DUE.value)


def item_outcomes(
    item: ItemState, scenario: Scenario, client: ClientState, statuses: dict[str, StatusRule], start: date, end: date
) -> dict[date, Outcome]:
    return {day: _outcome(step, item, client, statuses) for day, step in item_timeline(item, scenario, start, end)}


def project(
    items: Iterable[ItemState], *, scenarios: dict[str, Scenario], clients: dict[str, ClientState],
    statuses: dict[str, StatusRule], start: date, days: int,
) -> list[ProjectedStep]:
    """Every step the scheduler would record from `start` for `days` days, grouped as it groups them."""
    end = start + timedelta(days=days)
    groups: dict[tuple[date, str, str, str, str], list[ItemState]] = defaultdict(list)
    labels: dict[str, Step] = {}
    for item in items:
        scenario = scenarios.get(item.scenario_code)
        if scenario is None:
            continue
        client = clients.get(item.client_id) or ClientState(client_id=item.client_id)
        for day, step in item_timeline(item, scenario, start, end):
            outcome = _outcome(step, item, client, statuses)
            labels[step.code] = step
            groups[(day, item.client_id, step.code, outcome.outcome, outcome.reason)].append(item)
    projected = []
    for (day, client_id, step_code, outcome, reason), members in sorted(groups.items()):
        amounts: dict[str, Decimal] = defaultdict(Decimal)
        for member in members:
            amounts[member.currency] += member.open_amount
        step = labels[step_code]
        projected.append(ProjectedStep(day=day, client_id=client_id, step_code=step_code, step_label=step.label,
                                       step_type=step.type.value, outcome=outcome, reason=reason,
                                       item_ids=sorted(m.item_id for m in members), amounts=dict(amounts)))
    return projected


def diff(
    items: Sequence[ItemState], *, saved: Scenario, proposed: Scenario, clients: dict[str, ClientState],
    statuses: dict[str, StatusRule], start: date, days: int,
) -> list[ChangedStep]:
    """Per item and day: what the proposed scenario would send that the saved one would not, and so on."""
    end = start + timedelta(days=days)
    changes: list[ChangedStep] = []
    for item in items:
        client = clients.get(item.client_id) or ClientState(client_id=item.client_id)
        before = item_outcomes(item, saved, client, statuses, start, end)
        after = item_outcomes(item, proposed, client, statuses, start, end)
        for day in sorted(set(before) | set(after)):
            old, new = before.get(day), after.get(day)
            if old == new:
                continue
            change = "added" if old is None else "removed" if new is None else "changed"
            changes.append(ChangedStep(day=day, client_id=item.client_id, item_id=item.item_id, number=item.number,
                                       change=change, before=old, after=new))
    return sorted(changes, key=lambda c: (c.day, c.client_id, c.number))
