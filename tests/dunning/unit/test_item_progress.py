"""The rules of an item's position in its scenario: pause, resume at the step its age calls for, no burst."""

from datetime import timedelta

from services.dunning.domain.progress import Reason, apply_snapshot, due_step, suppressed_by
from services.dunning.domain.state import ItemState
from tests.dunning.builders import DUE, client_state, saved, snapshot, status_event, status_rules

SCENARIO = saved()
NO_STATUSES = status_rules()


def new_item(**kwargs: object) -> ItemState:
    item = apply_snapshot(None, snapshot(**kwargs), scenario=SCENARIO, statuses=NO_STATUSES)  # type: ignore[arg-type]
    assert item is not None
    return item


def after_step(item: ItemState, code: str) -> ItemState:
    step = SCENARIO.step(code)
    assert step is not None
    following = SCENARIO.first_step_after(step.offset_days)
    return item.model_copy(update={"done_step": code, "done_offset": step.offset_days,
                                   "next_step": following.code if following else None})


class TestNewItems:
    def test_a_new_item_starts_at_the_first_step(self) -> None:
        assert new_item().next_step == "courtesy"

    def test_an_item_imported_late_gets_only_the_step_its_age_calls_for(self) -> None:
        due = due_step(new_item(), SCENARIO, DUE + timedelta(days=20))
        assert due is not None
        assert due.step.code == "call"
        assert [step.code for step in due.passed_over] == ["courtesy", "first-reminder"]

    def test_nothing_is_due_before_the_first_step_date(self) -> None:
        assert due_step(new_item(), SCENARIO, DUE - timedelta(days=6)) is None

    def test_a_closed_item_leaves_dunning(self) -> None:
        closed = new_item(open_amount="0")
        assert closed.next_step is None
        assert due_step(closed, SCENARIO, DUE + timedelta(days=60)) is None


class TestPauseAndResume:
    def test_an_older_snapshot_changes_nothing(self) -> None:
        item = apply_snapshot(new_item(version=3), snapshot(version=2, held_by="a1"), scenario=SCENARIO,
                              statuses=NO_STATUSES)
        assert item is None

    def test_a_held_item_keeps_its_place_and_every_due_step_is_suppressed_with_the_reason(self) -> None:
        item = after_step(new_item(), "first-reminder")
        held = apply_snapshot(item, snapshot(version=2, held_by="fu-7"), scenario=SCENARIO, statuses=NO_STATUSES)
        assert held is not None and held.next_step == "call"
        why = suppressed_by(held, client_state(), NO_STATUSES)
        assert why is not None and why.reason is Reason.HELD_BY_ACTION
        assert "follow-up fu-7" in why.detail

    def test_a_resumed_item_gets_the_step_its_age_calls_for_not_every_missed_one(self) -> None:
        item = after_step(new_item(), "first-reminder")
        held = apply_snapshot(item, snapshot(version=2, held_by="fu-7"), scenario=SCENARIO, statuses=NO_STATUSES)
        assert held is not None
        # While held, the scheduler moved past the call (recorded as skipped): next_step is the formal notice.
        held = held.model_copy(update={"next_step": "formal-notice"})
        released = apply_snapshot(held, snapshot(version=3, changed=DUE + timedelta(days=33)), scenario=SCENARIO,
                                  statuses=NO_STATUSES)
        assert released is not None
        assert released.next_step == "call"  # back to the first step after the last one carried out
        assert released.resumed is not None and released.resumed.released_by == "fu-7"
        due = due_step(released, SCENARIO, DUE + timedelta(days=33))
        assert due is not None and due.step.code == "formal-notice"
        assert [step.code for step in due.passed_over] == ["call"]

    def test_a_status_that_takes_items_out_of_dunning_suppresses_with_its_category(self) -> None:
        statuses = status_rules(status_event("promise_to_pay", category="promise"))  # type: ignore[arg-type]
        item = new_item(status="promise_to_pay")
        why = suppressed_by(item, client_state(), statuses)
        assert why is not None and why.reason is Reason.PROMISE_PENDING

    def test_a_status_that_keeps_items_in_dunning_suppresses_nothing(self) -> None:
        statuses = status_rules(status_event("dispute_resolved", category="resolved", takes_out=False))  # type: ignore[arg-type]
        assert suppressed_by(new_item(status="dispute_resolved"), client_state(), statuses) is None

    def test_an_item_removed_from_its_follow_up_re_enters_though_its_dispute_status_stays(self) -> None:
        """Rule 4: disassociated by hand, the item is back in the flow; a dispute set on it afresh is a pause again."""
        statuses = status_rules(status_event("price_dispute"), status_event("quality_dispute"))
        held = apply_snapshot(new_item(), snapshot(version=2, held_by="fu-7", status="price_dispute"),
                              scenario=SCENARIO, statuses=statuses)
        assert held is not None and suppressed_by(held, client_state(), statuses) is not None
        removed = apply_snapshot(held, snapshot(version=3, status="price_dispute"), scenario=SCENARIO,
                                 statuses=statuses)
        assert removed is not None and suppressed_by(removed, client_state(), statuses) is None
        assert removed.resumed is not None and removed.resumed.released_by == "fu-7"
        disputed_again = apply_snapshot(removed, snapshot(version=4, status="quality_dispute"), scenario=SCENARIO,
                                        statuses=statuses)
        assert disputed_again is not None
        why = suppressed_by(disputed_again, client_state(), statuses)
        assert why is not None and why.reason is Reason.IN_DISPUTE

    def test_an_excluded_client_suppresses_its_items(self) -> None:
        why = suppressed_by(new_item(), client_state(excluded=True), NO_STATUSES)
        assert why is not None and why.reason is Reason.CLIENT_EXCLUDED

    def test_a_reopened_item_re_enters_after_its_last_step(self) -> None:
        item = after_step(new_item(), "first-reminder")
        closed = apply_snapshot(item, snapshot(version=2, open_amount="0"), scenario=SCENARIO, statuses=NO_STATUSES)
        assert closed is not None and closed.next_step is None
        reopened = apply_snapshot(closed, snapshot(version=3), scenario=SCENARIO, statuses=NO_STATUSES)
        assert reopened is not None and reopened.next_step == "call"
