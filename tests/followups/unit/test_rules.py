"""The follow-ups rules as pure functions: no broker, no database."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.followups.domain import actions as act
from services.followups.domain.actions import Action, ActionDraft
from services.followups.domain.drafts import ActionSource, ActionSpec, resolve_draft
from services.followups.domain.errors import ActionNotOpen, Invalid, ItemsRejected
from services.followups.domain.items import ErpChange, ItemInput, check_selection, hold, merge_erp_update, qualify, release
from services.followups.domain.parties import Client
from services.followups.domain.statuses import DEFAULT_STATUSES, StatusDefinition
from services.followups.domain.wizard import CreateAction, FollowScenario, check_plan, default_next_action
from shared.contracts.actions import ActionChange
from shared.contracts.values import ActionState, ActionType, Actor, ActorKind, ItemSnapshot, UserRef

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
ALICE = Actor(kind=ActorKind.USER, id="alice")
STATUSES = {status.code: status for status in DEFAULT_STATUSES}
OWNER = UserRef(user_id="u-col", name="Jean Martin", email="jean@acme.example")


def item(item_id: str = "i1", *, client_id: str = "c1", open_amount: str = "100", held_by: str | None = None,
         version: int = 1) -> ItemSnapshot:
    return ItemSnapshot(item_id=item_id, client_id=client_id, number=item_id.upper(), issue_date=date(2026, 9, 1),
                        due_date=date(2026, 10, 1), amount=Decimal("100"), open_amount=Decimal(open_amount),
                        currency="EUR", held_by_action_id=held_by,
                        held_by_action_type=ActionType.FOLLOW_UP if held_by else None, version=version,
                        changed_at=NOW)


def client(**extra: object) -> Client:
    return Client(client_id="c1", number="C1", name="Dupont SA", language="fr", currency="EUR", version=1,
                  changed_at=NOW, **extra)


def follow_up(item_ids: list[str] | None = None) -> Action:
    draft = ActionDraft(type=ActionType.FOLLOW_UP, name="Price dispute", scheduled_for=TODAY, owner=OWNER)
    return act.create(draft, action_id="a1", client_id="c1", item_ids=item_ids or ["i1"], actor=ALICE, now=NOW,
                      origin={}).action


class TestItemVersions:
    def test_every_change_is_one_version_more(self) -> None:
        qualified = qualify(item(), status_code="price_dispute", now=NOW)
        held = hold(qualified, action_id="a1", action_type=ActionType.FOLLOW_UP, now=NOW)
        released = release(held, now=NOW)
        assert [qualified.version, held.version, released.version] == [2, 3, 4]
        assert held.held_by_action_id == "a1" and released.held_by_action_id is None

    def test_a_comment_alone_keeps_the_status_and_its_date_but_is_still_a_change(self) -> None:
        disputed = qualify(item(), status_code="price_dispute", now=NOW)
        commented = qualify(disputed, status_code=None, now=NOW + timedelta(hours=1))
        assert commented.status_code == "price_dispute" and commented.status_since == NOW
        assert commented.version == disputed.version + 1


class TestErpUpdates:
    def row(self, open_amount: str = "100") -> ItemInput:
        return ItemInput(item_id="i1", client_id="c1", number="I1", issue_date=date(2026, 9, 1),
                         due_date=date(2026, 10, 1), amount=Decimal("100"), open_amount=Decimal(open_amount),
                         currency="EUR")

    def test_the_same_row_again_changes_nothing(self) -> None:
        assert merge_erp_update(item(), self.row(), now=NOW) == (None, ErpChange.UNCHANGED)

    def test_an_open_amount_of_zero_closes_the_item_and_keeps_its_hold_for_rule_7(self) -> None:
        snapshot, change = merge_erp_update(item(held_by="a1"), self.row("0"), now=NOW)
        assert change == ErpChange.CLOSED and snapshot is not None and snapshot.closed
        assert snapshot.held_by_action_id == "a1" and snapshot.version == 2

    def test_a_partly_paid_item_is_updated(self) -> None:
        snapshot, change = merge_erp_update(item(), self.row("40"), now=NOW)
        assert change == ErpChange.UPDATED and snapshot is not None and snapshot.open_amount == Decimal("40")

    @pytest.mark.parametrize("field, value, message", [
        ("open_amount", "150", "larger than amount"),
        ("open_amount", "-5", "opposite signs"),
        ("due_date", "2026-08-01", "before issue_date"),
        ("currency", "euro", "currency"),
    ])
    def test_inconsistent_rows_are_refused(self, field: str, value: str, message: str) -> None:
        data = {**self.row().model_dump(mode="json"), field: value}
        with pytest.raises(ValidationError, match=message):
            ItemInput.model_validate(data)


class TestSelection:
    def test_every_bad_item_is_named_unknown_other_client_and_closed(self) -> None:
        found = {"i1": item("i1"), "i2": item("i2", client_id="c2"), "i3": item("i3", open_amount="0")}
        with pytest.raises(ItemsRejected) as caught:
            check_selection(["i1", "i2", "i3", "i4"], found, client_id="c1")
        assert caught.value.details == {"unknown": ["i4"], "other_client": ["i2"], "closed": ["i3"]}


class TestStatusDefinitions:
    def test_a_resolved_status_cannot_count_as_a_dispute(self) -> None:
        with pytest.raises(ValidationError, match="resolved status releases items"):
            StatusDefinition(labels={"en": "Done"}, category="resolved", counts_as_dispute=True,
                             takes_out_of_dunning=True)

    def test_a_dispute_takes_its_items_out_of_dunning(self) -> None:
        with pytest.raises(ValidationError, match="rule 2"):
            StatusDefinition(labels={"en": "Odd"}, category="dispute", counts_as_dispute=True)

    def test_the_defaults_cover_the_documented_statuses(self) -> None:
        assert set(STATUSES) == {"price_dispute", "quantity_dispute", "quality_dispute", "missing_purchase_order",
                                 "promise_to_pay", "payment_plan", "credit_note_requested", "legal_collection",
                                 "dispute_resolved"}
        assert STATUSES["dispute_resolved"].resolves and not STATUSES["dispute_resolved"].counts_as_dispute


class TestWizardPlan:
    def test_rule_6_a_status_with_an_action_model_creates_that_action(self) -> None:
        next_action = default_next_action(STATUSES["price_dispute"], [item()])
        assert isinstance(next_action, CreateAction) and next_action.source == ActionSource.STATUS_MODEL

    def test_items_already_held_stay_with_their_action(self) -> None:
        assert isinstance(default_next_action(STATUSES["quality_dispute"], [item(held_by="a1")]), FollowScenario)

    def test_rule_2_a_dispute_cannot_follow_the_scenario(self) -> None:
        with pytest.raises(Invalid, match="rule 2") as caught:
            check_plan(STATUSES["price_dispute"], FollowScenario(), [item("i1"), item("i2", held_by="a1")])
        assert caught.value.details["item_ids"] == ["i1"]

    def test_rule_3_a_resolved_status_cannot_put_items_in_an_action(self) -> None:
        with pytest.raises(Invalid, match="rule 3"):
            check_plan(STATUSES["dispute_resolved"], CreateAction(type=ActionType.CALL), [item()])


class TestDrafts:
    def resolve(self, spec: ActionSpec, **kwargs: object) -> ActionDraft:
        defaults: dict[str, object] = {"client": client(collector_id="u-col"), "today": TODAY, "status": None,
                                       "template": None, "copied": None, "users": {"u-col": OWNER},
                                       "caller_id": "someone"}
        return resolve_draft(spec, **{**defaults, **kwargs})  # type: ignore[arg-type]

    def test_the_status_model_names_dates_and_owns_the_action(self) -> None:
        draft = self.resolve(ActionSpec(source=ActionSource.STATUS_MODEL), status=STATUSES["price_dispute"])
        assert draft.type == ActionType.FOLLOW_UP and draft.name == "Litige prix — Dupont SA"
        assert draft.scheduled_for == TODAY + timedelta(days=7) and draft.owner == OWNER

    def test_a_date_in_the_past_is_refused(self) -> None:
        with pytest.raises(Invalid, match="in the past"):
            self.resolve(ActionSpec(type=ActionType.CALL, scheduled_for=TODAY - timedelta(days=1)))

    def test_a_follow_up_needs_an_owner(self) -> None:
        with pytest.raises(Invalid, match="resolution owner"):
            self.resolve(ActionSpec(type=ActionType.FOLLOW_UP), users={}, client=client())

    def test_an_unknown_owner_is_refused(self) -> None:
        with pytest.raises(Invalid, match="unknown owner"):
            self.resolve(ActionSpec(type=ActionType.CALL, owner_id="ghost"))

    def test_only_sendable_actions_run_automatically(self) -> None:
        with pytest.raises(Invalid, match="cannot run automatically"):
            self.resolve(ActionSpec(type=ActionType.CALL, automatic=True))

    def test_an_automatic_email_needs_its_text(self) -> None:
        with pytest.raises(Invalid, match="needs its text"):
            self.resolve(ActionSpec(type=ActionType.EMAIL, automatic=True))

    def test_a_copy_for_another_client_drops_the_recipients(self) -> None:
        source = follow_up().model_copy(update={
            "client_id": "c9", "type": ActionType.EMAIL,
            "content": act.ActionContent(variants={"fr": {"subject": "Relance", "body": "Bonjour"}},
                                         recipients=[{"email": "x@c9.example"}])})
        draft = self.resolve(ActionSpec(source=ActionSource.COPY_ACTION, copy_from_action_id="a1"), copied=source)
        assert draft.content is not None and draft.content.recipients == []
        assert draft.owner == OWNER and draft.type == ActionType.EMAIL


class TestActionOperations:
    def test_each_change_carries_the_snapshot_and_a_history_entry_with_before_and_after(self) -> None:
        changed = act.rename(follow_up(), "Price dispute — March", actor=ALICE, now=NOW)
        assert changed is not None
        assert changed.event.change == ActionChange.RENAMED and changed.event.action.version == 2
        assert (changed.entry.before, changed.entry.after) == ({"name": "Price dispute"},
                                                               {"name": "Price dispute — March"})
        assert changed.entry.actor == ALICE

    def test_renaming_to_the_same_name_changes_nothing(self) -> None:
        assert act.rename(follow_up(), "Price dispute", actor=ALICE, now=NOW) is None

    def test_closing_a_follow_up_needs_a_resolution_note(self) -> None:
        with pytest.raises(Invalid, match="resolution_note"):
            act.close(follow_up(), resolution_note=None, actor=ALICE, now=NOW)

    def test_a_closed_action_cannot_change(self) -> None:
        closed = act.close(follow_up(), resolution_note="credit note issued", actor=ALICE, now=NOW).action
        assert closed.state == ActionState.CLOSED
        with pytest.raises(ActionNotOpen):
            act.reschedule(closed, TODAY, today=TODAY, actor=ALICE, now=NOW)

    def test_removing_items_keeps_the_others(self) -> None:
        changed = act.remove_items(follow_up(["i1", "i2", "i3"]), ["i2"], reason="removed_from_action", actor=ALICE,
                                   now=NOW)
        assert changed.action.item_ids == ["i1", "i3"]
        assert changed.entry.data == {"item_ids": ["i2"], "reason": "removed_from_action"}
