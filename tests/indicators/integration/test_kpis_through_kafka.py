"""The dispute rules end to end: events through the real broker, figures in the real database,
KPIs through the API; after every step the recompute finds no difference."""

from decimal import Decimal

from shared.contracts.actions import ActionChange, ActionChanged
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
from tests.indicators.fakes import action, item
from tests.indicators.integration.support import Running, figure


def held(item_id: str, version: int, amount: str, code: str = "price_dispute") -> ItemSnapshot:
    """An item disputed (or resolved) while follow-up f1 holds it."""
    return item(item_id, version=version, open_amount=amount, amount="300" if item_id == "i2" else amount,
                status_code=code, status_since=DISPUTE_SINCE, held_by="f1", held_type=ActionType.FOLLOW_UP)


class TestDisputeRulesThroughKafka:
    async def test_disputes_raise_and_resolving_disassociating_paying_lower_disputed_outstanding(
        self, tenant: Running,
    ) -> None:
        send = tenant.publisher.send
        await send(status("price_dispute", StatusCategory.DISPUTE, dispute=True))
        await send(status("dispute_resolved", StatusCategory.RESOLVED, dispute=False))
        await send(client())
        await send(ItemsUpserted(client_id="c1", items=[item("i1", open_amount="100"),
                                                        item("i2", open_amount="300"),
                                                        item("i3", open_amount="600")]))
        body = await tenant.wait_for(lambda b: figure(b, "total_outstanding") == 1000
                                     and figure(b, "open_items") == 3)
        assert figure(body, "disputed_outstanding") == 0
        await tenant.assert_recompute_is_clean()

        # the change-status wizard: dispute status, then the follow-up that holds the items
        await send(ItemStatusChanged(client_id="c1", status_code="price_dispute", items=[
            item("i1", version=2, open_amount="100", status_code="price_dispute", status_since=DISPUTE_SINCE),
            item("i2", version=2, open_amount="300", status_code="price_dispute", status_since=DISPUTE_SINCE)]))
        await send(ActionChanged(change=ActionChange.CREATED, action=action("f1")))
        await send(ItemsDetached(client_id="c1", action_id="f1", action_type=ActionType.FOLLOW_UP,
                                 items=[held("i1", 3, "100"), held("i2", 3, "300")]))
        body = await tenant.wait_for(lambda b: figure(b, "disputed_outstanding") == 400
                                     and b["open_follow_ups"] == 1)
        assert figure(body, "dispute_rate") == Decimal("0.4")
        assert figure(body, "held_in_follow_ups_amount") == 400
        whole = await tenant.kpis("tenant", None)
        assert figure(whole, "disputed_outstanding") == 400 and whole["open_disputes"] == 2
        await tenant.assert_recompute_is_clean()

        await send(ItemStatusChanged(client_id="c1", status_code="dispute_resolved", items=[
            held("i1", 4, "100", code="dispute_resolved")]))
        await send(ItemsReattached(client_id="c1", action_id="f1", reason=ReattachReason.RESOLVED_STATUS,
                                   items=[item("i1", version=5, open_amount="100", status_code="dispute_resolved")]))
        await tenant.wait_for(lambda b: figure(b, "disputed_outstanding") == 300)
        await tenant.assert_recompute_is_clean()

        await send(ItemsUpserted(client_id="c1", items=[held("i2", 4, "120")]))  # partly paid
        body = await tenant.wait_for(lambda b: figure(b, "disputed_outstanding") == 120)
        assert figure(body, "total_outstanding") == 820
        await tenant.assert_recompute_is_clean()

        await send(ItemsReattached(client_id="c1", action_id="f1", reason=ReattachReason.REMOVED_FROM_ACTION,
                                   items=[item("i2", version=5, open_amount="120", amount="300",
                                               status_code="price_dispute", status_since=DISPUTE_SINCE)]))
        body = await tenant.wait_for(lambda b: figure(b, "disputed_outstanding") == 0)
        assert figure(body, "dispute_rate") == 0
        await tenant.assert_recompute_is_clean()

        await send(ItemsClosed(client_id="c1", items=[item("i3", version=2, open_amount="0", amount="600")]))
        body = await tenant.wait_for(lambda b: figure(b, "total_outstanding") == 220)
        assert figure(body, "open_items") == 2
        await tenant.assert_recompute_is_clean()
