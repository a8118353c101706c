"""What an automatic action's run on its date (performed by dunning) does to the action here.

Dunning runs the snapshot it holds, which may be older than the action: a run counts only for the date
the action still has and a version this service issued. A run for a former date (the action was
rescheduled meanwhile) or on an action already ended changes nothing; when an email went out anyway,
the action's history says so, so the delivery report that follows makes sense to the collector.
"""

from dataclasses import dataclass
from enum import StrEnum

from shared.contracts.dunning import ActionRunOutcome, ScheduledActionExecuted
from shared.contracts.values import ActionState
from services.followups.domain.actions import Action


class RunEffect(StrEnum):
    EXECUTE = "execute"  # the action is done; its items re-enter the scenario
    DELETE = "delete"  # rule 7 on its date: deleted, its items re-enter the scenario
    NOTE_SKIPPED = "note_skipped"  # it stays open: the history says why nothing went
    NOTE_IGNORED = "note_ignored"  # an email went for a date or state the action no longer has: noted only
    NOTHING = "nothing"  # already applied, or a run that no longer concerns the action


@dataclass(frozen=True)
class RunVerdict:
    effect: RunEffect
    why: str


def judge_run(action: Action, run: ScheduledActionExecuted) -> RunVerdict:
    """How a run reported by dunning applies to the action as it is now (pure: the handler does the I/O)."""
    ran = f"{run.outcome.value} for {run.scheduled_for.isoformat()} (version {run.action_version})"
    if run.action_version > action.version:
        return RunVerdict(RunEffect.NOTHING, f"{ran}: this service never issued that version (it has "
                                             f"{action.version})")
    if action.state == ActionState.DONE and action.scheduled_for == run.scheduled_for:
        return RunVerdict(RunEffect.NOTHING, f"{ran}: already done")
    went_out = run.outcome is ActionRunOutcome.EXECUTED
    if not action.is_open:
        why = f"{ran}, but the action was already {action.state.value}: left as it is"
        return RunVerdict(RunEffect.NOTE_IGNORED if went_out else RunEffect.NOTHING, why)
    if action.scheduled_for != run.scheduled_for:
        why = (f"{ran}, but the action has since been rescheduled to {action.scheduled_for.isoformat()}: "
               "it stays open for that date")
        return RunVerdict(RunEffect.NOTE_IGNORED if went_out else RunEffect.NOTHING, why)
    effect = {ActionRunOutcome.EXECUTED: RunEffect.EXECUTE, ActionRunOutcome.DELETED: RunEffect.DELETE,
              ActionRunOutcome.SKIPPED: RunEffect.NOTE_SKIPPED}[run.outcome]
    return RunVerdict(effect, f"{ran}: {run.reason}")
