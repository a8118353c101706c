"""The rules docs/indicators.md states, one event at a time, each step checked against a recompute."""

from decimal import Decimal

import pytest

from services.indicators.handlers.definitions import settle_recent_definitions
from services.indicators.domain.facts import StatusFacts
from services.indicators.domain.history import EventRef
from services.indicators.ports import Stamp

from shared.contracts.actions import ActionChange, ActionChanged
from shared.contracts.receivables import (
    ItemsClosed,
    ItemsDetached,
    ItemsReattached,
    ItemStatusChanged,
    ItemsUpserted,
    ReattachReason,
)
from shared.contracts.values import ActionState, ActionType, StatusCategory
from tests.indicators.builders import DISPUTE_SINCE, client, status
from tests.indicators.desk import Desk
from tests.indicators.fakes import action, item

@pytest.fixture
async def desk() -> Desk:
    desk = Desk()
    await desk.send(status("price_dispute", StatusCategory.DISPUTE, dispute=True))
    await desk.send(status("dispute_resolved", StatusCategory.RESOLVED, dispute=False))
    await desk.send(status("promise_to_pay", StatusCategory.PROMISE, dispute=False))
    await desk.send(client())
    await desk.send(ItemsUpserted(client_id="c1", items=[item("i1", open_amount="100"), item("i2", open_amount="300"),
                                                         item("i3", open_amount="600")]))
    return desk


async def dispute(desk: Desk, *item_ids_versions: tuple[str, int, str]) -> None:
    """The change-status wizard: a dispute status, then the follow-up that holds the items."""
    await desk.send(ItemStatusChanged(client_id="c1", status_code="price_dispute", items=[
        item(i, version=v, open_amount=amount, status_code="price_dispute", status_since=DISPUTE_SINCE)
        for i, v, amount in item_ids_versions]))
    await desk.send(ItemsDetached(client_id="c1", action_id="f1", action_type=ActionType.FOLLOW_UP, items=[
        item(i, version=v + 1, open_amount=amount, status_code="price_dispute", status_since=DISPUTE_SINCE,
             held_by="f1", held_type=ActionType.FOLLOW_UP) for i, v, amount in item_ids_versions]))


class TestDisputedOutstanding:
    async def test_moving_items_to_a_dispute_status_raises_disputed_outstanding_and_the_dispute_rate(
        self, desk: Desk
    ) -> None:
        before = desk.kpis()
        assert (before.total_outstanding, before.disputed_outstanding, before.dispute_rate) == (
            Decimal(1000), Decimal(0), Decimal(0))
        await dispute(desk, ("i1", 2, "100"), ("i2", 2, "300"))
        after = desk.kpis()
        assert after.disputed_outstanding == Decimal(400)
        assert after.dispute_rate == Decimal("0.4000")
        assert after.dispute_rate_by_count == Decimal("0.6667")
        assert after.open_disputes == 2
        assert after.held_in_follow_ups_amount == Decimal(400)
        for scope in ("tenant", "collector:anna", "entity:fr", "group:g1"):
            assert desk.kpis(scope).disputed_outstanding == Decimal(400)
        desk.assert_equals_recompute()

    async def test_resolving_an_item_lowers_disputed_outstanding(self, desk: Desk) -> None:
        await dispute(desk, ("i1", 2, "100"), ("i2", 2, "300"))
        await desk.send(ItemStatusChanged(client_id="c1", status_code="dispute_resolved", items=[
            item("i1", version=4, open_amount="100", status_code="dispute_resolved", held_by="f1",
                 held_type=ActionType.FOLLOW_UP)]))
        assert desk.kpis().disputed_outstanding == Decimal(300)
        desk.assert_equals_recompute()
        await desk.send(ItemsReattached(client_id="c1", action_id="f1", reason=ReattachReason.RESOLVED_STATUS, items=[
            item("i1", version=5, open_amount="100", status_code="dispute_resolved")]))
        assert desk.kpis().disputed_outstanding == Decimal(300)
        assert desk.kpis().dispute_rate == Decimal("0.3000")
        desk.assert_equals_recompute()

    async def test_disassociating_an_item_from_its_follow_up_lowers_disputed_outstanding(self, desk: Desk) -> None:
        await dispute(desk, ("i1", 2, "100"), ("i2", 2, "300"))
        await desk.send(ItemsReattached(client_id="c1", action_id="f1", reason=ReattachReason.REMOVED_FROM_ACTION,
                                        items=[item("i2", version=4, open_amount="300", status_code="price_dispute",
                                                    status_since=DISPUTE_SINCE)]))
        kpis = desk.kpis()
        assert (kpis.disputed_outstanding, kpis.open_disputes, kpis.held_in_follow_ups_amount) == (
            Decimal(100), 1, Decimal(100))
        desk.assert_equals_recompute()

    async def test_paying_a_disputed_item_lowers_disputed_and_total_outstanding(self, desk: Desk) -> None:
        await dispute(desk, ("i1", 2, "100"), ("i2", 2, "300"))
        await desk.send(ItemsUpserted(client_id="c1", items=[
            item("i2", version=4, open_amount="50", amount="300", status_code="price_dispute",
                 status_since=DISPUTE_SINCE, held_by="f1", held_type=ActionType.FOLLOW_UP)]))
        assert (desk.kpis().disputed_outstanding, desk.kpis().total_outstanding) == (Decimal(150), Decimal(750))
        desk.assert_equals_recompute()
        await desk.send(ItemsClosed(client_id="c1", items=[
            item("i2", version=5, open_amount="0", amount="300", status_code="price_dispute",
                 status_since=DISPUTE_SINCE, held_by="f1", held_type=ActionType.FOLLOW_UP)]))
        kpis = desk.kpis()
        assert (kpis.disputed_outstanding, kpis.total_outstanding, kpis.open_items) == (Decimal(100), Decimal(700), 2)
        assert kpis.dispute_rate == Decimal("0.1429")
        desk.assert_equals_recompute()

    async def test_dispute_ages_are_measured_from_the_status_date(self, desk: Desk) -> None:
        await dispute(desk, ("i1", 2, "100"))
        kpis = desk.kpis()  # the desk's clock reads 2026-11-02 09:0x
        assert kpis.oldest_dispute_age_days == 13
        assert Decimal("12.9") <= kpis.average_dispute_age_days <= Decimal("13.0")  # type: ignore[operator]


class TestVersionsAndOrder:
    async def test_a_redelivered_or_older_snapshot_changes_nothing(self, desk: Desk) -> None:
        await dispute(desk, ("i1", 2, "100"))
        figures = desk.store.figures()
        history = len(desk.store.history["acme"])
        await desk.send(ItemsUpserted(client_id="c1", items=[item("i1", version=2, open_amount="999")]))
        await desk.send(ItemsUpserted(client_id="c1", items=[item("i1", version=1, open_amount="100")]))
        assert desk.store.figures() == figures
        assert len(desk.store.history["acme"]) == history

    async def test_items_arriving_before_their_client_roll_up_to_its_collector_once_it_arrives(self) -> None:
        desk = Desk()
        await desk.send(ItemsUpserted(client_id="c9", items=[item(f"n{i}", client_id="c9") for i in range(5)]))
        assert desk.kpis("tenant").total_outstanding == Decimal(500)
        assert desk.kpis("collector:bob").total_outstanding == Decimal(0)
        await desk.send(client("c9", collector="bob"))
        assert desk.kpis("collector:bob").total_outstanding == Decimal(500)
        desk.assert_equals_recompute()

    async def test_a_client_handed_to_another_collector_moves_its_figures(self, desk: Desk) -> None:
        await desk.send(ActionChanged(change=ActionChange.CREATED, action=action("f1")))
        await desk.send(client(collector="bob", group=None, version=2))
        assert desk.kpis("collector:anna").total_outstanding == Decimal(0)
        assert desk.kpis("collector:bob").total_outstanding == Decimal(1000)
        assert desk.figures("collector:bob", "*").get("open_follow_ups") == Decimal(1)
        assert desk.kpis("group:g1").total_outstanding == Decimal(0)
        await desk.send(client(collector="anna", version=1))  # late and older: ignored
        assert desk.kpis("collector:bob").total_outstanding == Decimal(1000)
        desk.assert_equals_recompute()


class TestStatusDefinitions:
    async def test_a_status_not_yet_defined_counts_as_no_dispute_until_its_definition_arrives(self, desk: Desk) -> None:
        await desk.send(ItemsDetached(client_id="c1", action_id="f2", action_type=ActionType.FOLLOW_UP, items=[
            item("i3", version=2, open_amount="600", status_code="legal_claim", held_by="f2",
                 held_type=ActionType.FOLLOW_UP)]))
        assert desk.kpis().disputed_outstanding == Decimal(0)
        await desk.send(status("legal_claim", StatusCategory.LEGAL, dispute=True))
        assert desk.kpis().disputed_outstanding == Decimal(600)
        desk.assert_equals_recompute()

    async def test_reclassifying_a_status_corrects_the_figures_of_its_items_only(self, desk: Desk) -> None:
        await dispute(desk, ("i1", 2, "100"), ("i2", 2, "300"))
        await desk.send(ItemsUpserted(client_id="c1", items=[item("i3", version=2, open_amount="600",
                                                                  status_code="promise_to_pay")]))
        await desk.send(status("price_dispute", StatusCategory.DISPUTE, dispute=False, version=2))
        kpis = desk.kpis()
        assert (kpis.disputed_outstanding, kpis.promises_pending_amount) == (Decimal(0), Decimal(600))
        desk.assert_equals_recompute()
        await desk.send(status("price_dispute", StatusCategory.DISPUTE, dispute=True, version=3))
        await desk.send(status("price_dispute", StatusCategory.DISPUTE, dispute=False, version=2))  # stale
        assert desk.kpis().disputed_outstanding == Decimal(400)
        desk.assert_equals_recompute()


    async def test_the_settling_pass_recounts_an_item_counted_with_a_definition_replaced_meanwhile(
        self, desk: Desk
    ) -> None:
        await dispute(desk, ("i1", 2, "100"))
        # an item event that read version 1 of the definition commits after the immediate recount
        await desk.store.save_status("acme", StatusFacts(code="price_dispute", category=StatusCategory.DISPUTE,
                                                         counts_as_dispute=False, version=2),
                                     stamp=Stamp(at=desk.clock.now(), event=EventRef(
                                         event_id="e-def", event_type="arf.status.defined.v1",
                                         event_time=desk.clock.now())))
        assert [d.figure for d in desk.store.differences()][:1] == ["dispute_since_sum"]
        changed = await settle_recent_definitions(uow=desk.uow, clock=desk.clock, since_seconds=600)
        assert changed == 1
        assert desk.kpis().disputed_outstanding == Decimal(0)
        desk.assert_equals_recompute()


class TestFollowUpsAndPromises:
    async def test_open_follow_ups_count_until_they_are_closed(self, desk: Desk) -> None:
        await desk.send(ActionChanged(change=ActionChange.CREATED, action=action("f1")))
        await desk.send(ActionChanged(change=ActionChange.CREATED, action=action("e1", type=ActionType.EMAIL)))
        assert desk.figures("tenant", "*").get("open_follow_ups") == Decimal(1)
        await desk.send(ActionChanged(change=ActionChange.CLOSED, action=action("f1", version=2,
                                                                                state=ActionState.CLOSED)))
        await desk.send(ActionChanged(change=ActionChange.CREATED, action=action("f1")))  # late: ignored
        assert desk.figures("tenant", "*").get("open_follow_ups") == Decimal(0)
        desk.assert_equals_recompute()

    async def test_promises_to_pay_are_pending_until_paid(self, desk: Desk) -> None:
        await desk.send(ItemStatusChanged(client_id="c1", status_code="promise_to_pay", items=[
            item("i3", version=2, open_amount="600", status_code="promise_to_pay")]))
        assert (desk.kpis().promises_pending_amount, desk.kpis().promises_pending_count) == (Decimal(600), 1)
        await desk.send(ItemsClosed(client_id="c1", items=[item("i3", version=3, open_amount="0", amount="600",
                                                                status_code="promise_to_pay")]))
        assert (desk.kpis().promises_pending_amount, desk.kpis().promises_pending_count) == (Decimal(0), 0)
        desk.assert_equals_recompute()


class TestCurrencies:
    async def test_amounts_in_two_currencies_are_never_added(self, desk: Desk) -> None:
        await desk.send(ItemsUpserted(client_id="c1", items=[item("u1", open_amount="70", currency="USD")]))
        assert desk.kpis("tenant", "EUR").total_outstanding == Decimal(1000)
        assert desk.kpis("tenant", "USD").total_outstanding == Decimal(70)
        desk.assert_equals_recompute()
