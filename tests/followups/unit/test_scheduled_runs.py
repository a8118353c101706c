"""How a run reported by dunning applies to the action as it is now: only for the date and a version the
action has; an ended action is left as it is; an email that went anyway is noted."""

from datetime import UTC, date, datetime

import pytest

from services.followups.domain import actions as act
from services.followups.domain.actions import Action
from services.followups.domain.errors import ActionNotOpen
from services.followups.domain.history import EntryKind
from services.followups.domain.runs import RunEffect, judge_run
from shared.contracts.actions import ActionChange
from shared.contracts.dunning import ActionRunOutcome, ScheduledActionExecuted
from shared.contracts.values import ActionState, ActionType, ActorKind

NOW = datetime(2026, 11, 26, 8, tzinfo=UTC)
DAY = date(2026, 11, 26)


def email_action(*, version: int = 2, on: date = DAY, state: ActionState = ActionState.OPEN) -> Action:
    return Action(action_id="a1", client_id="C1", type=ActionType.EMAIL, name="Reminder", scheduled_for=on,
                  automatic=True, state=state, item_ids=["i1"], version=version, changed_at=NOW, created_at=NOW,
                  created_by={"kind": "user", "id": "u-col"})


def run(outcome: ActionRunOutcome = ActionRunOutcome.EXECUTED, *, version: int = 2, on: date = DAY,
        reason: str = "automatic email scheduled for 2026-11-26: sent") -> ScheduledActionExecuted:
    return ScheduledActionExecuted(client_id="C1", action_id="a1", action_version=version, scheduled_for=on,
                                   outcome=outcome, reason=reason, item_ids=["i1"],
                                   email_request_id="r1" if outcome is ActionRunOutcome.EXECUTED else None)


class TestJudgeRun:
    @pytest.mark.parametrize(("outcome", "effect"), [(ActionRunOutcome.EXECUTED, RunEffect.EXECUTE),
                                                     (ActionRunOutcome.DELETED, RunEffect.DELETE),
                                                     (ActionRunOutcome.SKIPPED, RunEffect.NOTE_SKIPPED)])
    def test_a_run_for_the_actions_date_applies_its_outcome(self, outcome: ActionRunOutcome, effect: RunEffect
                                                            ) -> None:
        assert judge_run(email_action(), run(outcome)).effect is effect

    def test_a_rename_after_the_snapshot_dunning_ran_does_not_stop_it_applying(self) -> None:
        assert judge_run(email_action(version=4), run(version=2)).effect is RunEffect.EXECUTE

    def test_an_execution_for_a_former_date_leaves_the_action_open_and_is_noted(self) -> None:
        verdict = judge_run(email_action(version=3, on=date(2026, 12, 1)), run(version=2))
        assert verdict.effect is RunEffect.NOTE_IGNORED
        assert "rescheduled to 2026-12-01" in verdict.why

    @pytest.mark.parametrize("outcome", [ActionRunOutcome.DELETED, ActionRunOutcome.SKIPPED])
    def test_a_deletion_or_skip_for_a_former_date_changes_nothing(self, outcome: ActionRunOutcome) -> None:
        assert judge_run(email_action(version=3, on=date(2026, 12, 1)), run(outcome)).effect is RunEffect.NOTHING

    def test_an_action_already_done_for_that_date_is_not_done_twice(self) -> None:
        assert judge_run(email_action(version=3, state=ActionState.DONE), run()).effect is RunEffect.NOTHING

    def test_a_deletion_of_an_action_rule_7_already_deleted_here_changes_nothing(self) -> None:
        deleted = email_action(version=3, state=ActionState.DELETED)
        assert judge_run(deleted, run(ActionRunOutcome.DELETED)).effect is RunEffect.NOTHING

    def test_an_email_sent_after_the_action_was_closed_here_is_noted_only(self) -> None:
        verdict = judge_run(email_action(version=3, state=ActionState.CLOSED), run())
        assert verdict.effect is RunEffect.NOTE_IGNORED and "already closed" in verdict.why

    def test_a_version_this_service_never_issued_changes_nothing(self) -> None:
        assert judge_run(email_action(version=2), run(version=5)).effect is RunEffect.NOTHING


class TestExecute:
    def test_the_action_is_done_with_who_confirmed_and_the_email_request_in_its_history(self) -> None:
        change = act.execute(email_action(), executed_version=2, email_request_id="r1", confirmed_by="u-col",
                             reason="sent", now=NOW)
        assert (change.action.state, change.action.version, change.action.closed_at) == (ActionState.DONE, 3, NOW)
        assert change.event.change is ActionChange.EXECUTED and change.event.action.state is ActionState.DONE
        assert change.entry.kind is EntryKind.EXECUTED and change.entry.actor.kind is ActorKind.SYSTEM
        assert change.entry.data == {"scheduled_for": "2026-11-26", "executed_version": 2, "email_request_id": "r1",
                                     "confirmed_by": "u-col"}
        assert change.entry.client_level and change.entry.before == {"state": "open"}

    def test_an_ended_action_cannot_be_executed(self) -> None:
        with pytest.raises(ActionNotOpen):
            act.execute(email_action(state=ActionState.DELETED), executed_version=2, email_request_id="r1",
                        confirmed_by=None, reason="sent", now=NOW)
