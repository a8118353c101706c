"""Through the real broker: redelivered and out-of-order events change nothing twice; an admin
reclassifying a status, or a client changing collector, corrects only the figures concerned while
events keep flowing; the recompute finds no difference."""

import asyncio

from shared.contracts.receivables import ItemsDetached, ItemStatusChanged, ItemsUpserted
from shared.contracts.values import ActionType, ItemSnapshot, StatusCategory
from tests.indicators.builders import DISPUTE_SINCE, client, status
from tests.indicators.fakes import item
from tests.indicators.integration.support import Running, figure


def quality_claim(item_id: str, version: int, amount: str = "100") -> ItemSnapshot:
    return item(item_id, version=version, open_amount=amount, status_code="quality_claim", status_since=DISPUTE_SINCE,
                held_by="f7", held_type=ActionType.FOLLOW_UP)


class TestOrderAndReclassification:
    async def test_redeliveries_reorderings_and_reclassification_end_equal_to_a_recompute(
        self, tenant: Running,
    ) -> None:
        publisher = tenant.publisher
        await publisher.send(client())
        # version 2 (held, disputed) overtakes version 1 (the import) across topics
        newer = ItemsDetached(client_id="c1", action_id="f7", action_type=ActionType.FOLLOW_UP,
                              items=[quality_claim(f"q{n}", 2) for n in range(7)])
        older = ItemsUpserted(client_id="c1", items=[item(f"q{n}", open_amount="100") for n in range(7)])
        envelope = publisher.envelope(newer)
        for _ in range(3):  # redelivered
            await publisher.send_envelope(envelope, newer)
        await publisher.send(older)
        await publisher.send(older)
        body = await tenant.wait_for(lambda b: figure(b, "total_outstanding") == 700
                                     and figure(b, "held_in_follow_ups_amount") == 700)
        assert figure(body, "disputed_outstanding") == 0  # quality_claim is not defined yet
        await tenant.assert_recompute_is_clean()

        # the admin makes quality_claim a dispute while items keep changing
        updates = [ItemStatusChanged(client_id="c1", status_code="quality_claim",
                                     items=[quality_claim(f"q{n}", 3, amount="80")]) for n in range(3)]
        await asyncio.gather(publisher.send(status("quality_claim", StatusCategory.DISPUTE, dispute=True)),
                             *(publisher.send(update) for update in updates))
        body = await tenant.wait_for(lambda b: figure(b, "disputed_outstanding") == 640)
        assert body["open_disputes"] == 7
        await tenant.assert_recompute_is_clean()

        await publisher.send(status("quality_claim", StatusCategory.DISPUTE, dispute=False, version=2))
        await tenant.wait_for(lambda b: figure(b, "disputed_outstanding") == 0)
        await publisher.send(status("quality_claim", StatusCategory.DISPUTE, dispute=True, version=1))  # stale
        await publisher.send(client(collector="bob", version=2))
        bob = await tenant.wait_for(lambda b: figure(b, "total_outstanding") == 640,
                                    scope="collector", scope_id="bob")
        assert figure(bob, "disputed_outstanding") == 0
        anna = await tenant.kpis("collector", "anna")
        assert figure(anna, "total_outstanding") == 0
        await tenant.assert_recompute_is_clean()
