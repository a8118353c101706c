"""A batch of events handled in one transaction ends exactly where the same events handled one by one
end, equal to a recompute, and costs one read and one write of the store whatever it holds."""

from decimal import Decimal

from services.indicators.domain.figures import AggregateKey
from shared.contracts.actions import ActionChange, ActionChanged
from shared.contracts.envelope import EventPayload
from shared.contracts.receivables import (
    ItemsClosed,
    ItemsDetached,
    ItemsReattached,
    ItemStatusChanged,
    ItemsUpserted,
    ReattachReason,
)
from shared.contracts.values import ActionType, ItemSnapshot, StatusCategory
from tests.indicators.builders import DISPUTE_SINCE, client, status
from tests.indicators.desk import Desk
from tests.indicators.fakes import action, item


def disputed(item_id: str, version: int, amount: str = "100", *, held: bool = True) -> ItemSnapshot:
    holder = {"held_by": "f1", "held_type": ActionType.FOLLOW_UP} if held else {}
    return item(item_id, version=version, open_amount=amount, amount="100", status_code="price_dispute",
                status_since=DISPUTE_SINCE, **holder)  # type: ignore[arg-type]


async def a_desk() -> Desk:
    desk = Desk()
    await desk.send(status("price_dispute", StatusCategory.DISPUTE, dispute=True))
    await desk.send(status("dispute_resolved", StatusCategory.RESOLVED, dispute=False))
    await desk.send(client())
    await desk.send(ItemsUpserted(client_id="c1", items=[item("i1", open_amount="100"), item("i2", open_amount="300")]))
    return desk


def several_events_on_one_item() -> list[EventPayload]:
    """The wizard disputes i1 into follow-up f1, i1 is partly paid, i2 is paid; in between, an import's
    older version of i1 arrives late, and two events are delivered twice."""
    qualified = ItemStatusChanged(client_id="c1", status_code="price_dispute", items=[disputed("i1", 2, held=False)])
    detached = ItemsDetached(client_id="c1", action_id="f1", action_type=ActionType.FOLLOW_UP,
                             items=[disputed("i1", 3)])
    return [
        qualified,
        ActionChanged(change=ActionChange.CREATED, action=action("f1")),
        detached,
        qualified,  # redelivered after a newer version
        ItemsUpserted(client_id="c1", items=[item("i1", version=1, open_amount="999")]),  # older, out of order
        ItemsUpserted(client_id="c1", items=[disputed("i1", 4, amount="60")]),
        detached,  # redelivered again
        ItemsClosed(client_id="c1", items=[item("i2", version=2, open_amount="0", amount="300")]),
    ]


class TestBatchedEvents:
    async def test_several_events_on_one_item_in_a_batch_end_equal_to_recompute_and_to_one_by_one(self) -> None:
        batched, one_by_one = await a_desk(), await a_desk()
        loads, writes = batched.store.loads, batched.store.writes

        await batched.send_batch(several_events_on_one_item())
        for event in several_events_on_one_item():
            await one_by_one.send(event)

        kpis = batched.kpis()
        assert kpis.disputed_outstanding == Decimal(60)  # the partial payment, not the late import's 999
        assert kpis.total_outstanding == Decimal(60)  # i2 paid
        assert batched.figures(currency="*")["open_follow_ups"] == 1
        assert batched.store.figures() == one_by_one.store.figures()
        assert batched.store.items == one_by_one.store.items
        assert batched.store.actions == one_by_one.store.actions
        batched.assert_equals_recompute()
        assert (batched.store.loads - loads, batched.store.writes - writes) == (1, 1)

    async def test_a_batch_keeps_one_history_entry_per_change_in_the_order_applied(self) -> None:
        desk = await a_desk()
        before = len(desk.store.history["acme"])
        await desk.send_batch(several_events_on_one_item())
        entries = desk.store.history["acme"][before:]
        i1 = [entry for entry in entries if entry.subject_id == "i1"]
        # held at v3 (disputed 100), then partly paid at v4 (60); v2 moved no figure, v1 and redeliveries none
        assert [entry.after.open_amount for entry in i1 if entry.after is not None] == [Decimal(100), Decimal(60)]
        assert [entry.before for entry in i1][1:] == [i1[0].after]
        assert [entry.at for entry in entries] == sorted(entry.at for entry in entries)
        desk.assert_equals_recompute()

    async def test_changes_that_cancel_out_within_a_batch_leave_the_figures_as_they_were(self) -> None:
        desk = await a_desk()
        await desk.send(ActionChanged(change=ActionChange.CREATED, action=action("f1")))
        before = desk.store.figures()
        await desk.send_batch([
            ItemsDetached(client_id="c1", action_id="f1", action_type=ActionType.FOLLOW_UP,
                          items=[disputed("i1", 2)]),
            ItemsReattached(client_id="c1", action_id="f1", reason=ReattachReason.RESOLVED_STATUS, items=[
                item("i1", version=3, open_amount="100", status_code="dispute_resolved")]),
        ])
        assert desk.store.figures() == before
        assert desk.store.items[("acme", "i1")].snapshot.version == 3
        desk.assert_equals_recompute()

    async def test_a_batch_spanning_two_tenants_keeps_their_figures_apart(self) -> None:
        desk = await a_desk()
        await desk.send(client(), tenant_id="globex")
        await desk.send_batch([(ItemsUpserted(client_id="c1", items=[item("i1", open_amount="5")]), "globex"),
                               ItemsClosed(client_id="c1", items=[item("i1", version=2, open_amount="0")])])
        assert desk.kpis().total_outstanding == Decimal(300)
        assert desk.store.figures("globex")[AggregateKey("client:c1", "EUR")]["outstanding"] == Decimal(5)
        assert desk.store.differences("globex") == [] and desk.store.differences() == []
