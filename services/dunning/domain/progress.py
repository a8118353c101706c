"""Where an item stands in its scenario: pausing, resuming, suppression, and which step is due.

Position: `done_offset` is the day (relative to the due date) of the last step carried out for the
item; `next_step` is the next step the scheduler looks at. An item that is not paused always has
`next_step` = the first step after `done_offset`, so resuming an item is the same computation.
No burst: when several steps are overdue at once, only the latest goes out (the one the item's age
calls for); the others are recorded as passed over.
"""

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from services.dunning.domain.scenarios import Scenario, Step
from services.dunning.domain.state import ActionState, ClientState, ItemState, Resumption, RunState, StatusRule
from shared.contracts.values import ActionSnapshot, ActionState as FollowupsActionState, ItemSnapshot, StatusCategory


class Reason(StrEnum):
    """Why a step went, waits, or did not go: the codes behind the agenda and the client's history."""

    STEP_DUE = "step_due"
    MANUAL_STEP = "manual_step"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    CONFIRMED = "confirmed_by_collector"
    PERFORMED = "performed_by_collector"
    SKIPPED_BY_COLLECTOR = "skipped_by_collector"
    POSTPONED = "postponed_by_collector"
    HELD_BY_ACTION = "held_by_action"
    IN_DISPUTE = "in_dispute"
    PROMISE_PENDING = "promise_pending"
    IN_LEGAL = "in_legal"
    STATUS_EXCLUDED = "status_excluded"
    ITEM_CLOSED = "item_closed"
    CLIENT_EXCLUDED = "client_excluded"
    NO_RECIPIENT = "no_recipient"


_CATEGORY_REASON = {
    StatusCategory.DISPUTE: Reason.IN_DISPUTE,
    StatusCategory.PROMISE: Reason.PROMISE_PENDING,
    StatusCategory.LEGAL: Reason.IN_LEGAL,
}


@dataclass(frozen=True)
class Suppression:
    reason: Reason
    detail: str


def paused_by(item: ItemState, statuses: dict[str, StatusRule]) -> Suppression | None:
    """The item-level reason it receives no scenario step: held by an action, or a status taking it out."""
    if item.held_by_action_id:
        kind = (item.held_by_action_type.value.replace("_", "-") if item.held_by_action_type else "action")
        return Suppression(Reason.HELD_BY_ACTION, f"held by {kind} {item.held_by_action_id}")
    rule = statuses.get(item.status_code or "")
    if rule is not None and rule.takes_out_of_dunning and item.status_code != item.released_with_status:
        reason = _CATEGORY_REASON.get(rule.category, Reason.STATUS_EXCLUDED)
        return Suppression(reason, f"status {rule.code!r} ({rule.category.value}) takes it out of dunning")
    return None


def suppressed_by(item: ItemState, client: ClientState, statuses: dict[str, StatusRule]) -> Suppression | None:
    """Checked right before anything goes out: closed, client excluded, held, or in a suppressing status."""
    if item.closed:
        return Suppression(Reason.ITEM_CLOSED, "the item is closed (open amount 0)")
    if client.dunning_excluded:
        return Suppression(Reason.CLIENT_EXCLUDED, "the client is excluded from dunning")
    return paused_by(item, statuses)


def rewound(item: ItemState, scenario: Scenario) -> ItemState:
    """Back to the first step after the last one carried out (how an item re-enters the flow)."""
    if item.closed:
        return item.model_copy(update={"next_step": None})
    step = scenario.first_step_after(item.done_offset)
    return item.model_copy(update={"next_step": step.code if step else None, "scenario_code": scenario.code})


def apply_snapshot(
    current: ItemState | None, snapshot: ItemSnapshot, *, scenario: Scenario, statuses: dict[str, StatusRule]
) -> ItemState | None:
    """The item after `snapshot`, or None when the snapshot is not newer than what we hold."""
    if current is not None and snapshot.version <= current.version:
        return None
    fields = snapshot.model_dump(include=set(ItemState.model_fields) - {"closed"})
    if current is None:
        updated = ItemState(**fields, closed=snapshot.closed, scenario_code=scenario.code)
        return rewound(updated, scenario)
    updated = current.model_copy(update={**fields, "closed": snapshot.closed})
    if current.held_by_action_id and not updated.held_by_action_id:
        # Released by its action (rules 3 and 4): it re-enters the flow, whatever status the case left on it.
        updated = updated.model_copy(update={"released_with_status": updated.status_code})
    was_paused = paused_by(current, statuses)
    now_paused = paused_by(updated, statuses)
    if updated.closed:
        return updated.model_copy(update={"next_step": None, "resumed": None})
    same_scenario = current.scenario_code == scenario.code
    if now_paused is not None and same_scenario and not current.closed and current.next_step is not None:
        return updated  # stays where it was: the scheduler records each step it misses, with the reason
    if was_paused is not None and now_paused is None:
        released = current.held_by_action_id or current.status_code or "pause"
        updated = updated.model_copy(update={"resumed": Resumption(
            on=snapshot.changed_at.date(), released_by=released,
            reason=f"released from {was_paused.detail}",
        )})
    return rewound(updated, scenario)


@dataclass(frozen=True)
class ItemDue:
    """An item whose scenario calls for `step` today; `passed_over` are older steps not sent (no burst)."""

    item: ItemState
    step: Step
    passed_over: tuple[Step, ...] = ()


def due_step(item: ItemState, scenario: Scenario, today: date) -> ItemDue | None:
    """The step the item's age calls for today, if its next step has come due."""
    if item.closed or item.next_step is None:
        return None
    due = [step for step in scenario.steps_from(item.next_step) if step.date_for(item.due_date) <= today]
    if not due:
        return None
    return ItemDue(item=item, step=due[-1], passed_over=tuple(due[:-1]))


def after(scenario: Scenario, step: Step) -> str | None:
    following = scenario.first_step_after(step.offset_days)
    return following.code if following else None


@dataclass
class ActionPlan:
    """What dunning does with a specific action after an action-changed event."""

    run_state: RunState
    run_on: date
    runs: list[str] = field(default_factory=list)


def run_key(action: ActionSnapshot) -> str:
    return f"{action.action_id}@{action.scheduled_for.isoformat()}"


def plan_action(current: ActionState | None, action: ActionSnapshot) -> ActionState | None:
    """The action's run state after a newer snapshot (None when not newer): runs once per date."""
    if current is not None and action.version <= current.action.version:
        return None
    runs = list(current.runs) if current else []
    state = _run_state(action, already_ran=run_key(action) in runs)
    if current is not None and current.run_state in (RunState.DELETED, RunState.EXECUTED, RunState.SKIPPED) \
            and run_key(action) in runs and state is not RunState.FINISHED:
        state = current.run_state  # ran on this date already; a later edit does not make it run again
    return ActionState(action=action, run_state=state, run_on=action.scheduled_for, runs=runs,
                       confirmed_by=current.confirmed_by if current else None)


def _run_state(action: ActionSnapshot, *, already_ran: bool) -> RunState:
    if action.state is not FollowupsActionState.OPEN:
        return RunState.FINISHED
    if already_ran:
        return RunState.EXECUTED
    if not action.automatic:
        return RunState.MANUAL
    if action.to_be_confirmed:
        return RunState.AWAITING_CONFIRMATION
    return RunState.PENDING
