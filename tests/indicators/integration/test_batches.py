"""A batch through the service's own consumer and MongoDB: one transaction for several events on the
same items (an older version, redeliveries inside the batch and from an earlier one, changes that
cancel out), ending equal to a recompute. The batch is handed to the consumer directly, so its
content does not depend on how the broker happens to group records."""

import logging

import pytest

from services.indicators.adapters.mongo import AGGREGATES
from services.indicators.app import CHANGES
from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.receivables import (
    ItemsClosed,
    ItemsDetached,
    ItemsReattached,
    ItemsUpserted,
    ReattachReason,
)
from shared.contracts.values import ActionType, ItemSnapshot, StatusCategory
from shared.platform.consumer import EventRouter
from shared.platform.kafka import RawRecord
from tests.indicators.builders import DISPUTE_SINCE, client, status
from tests.indicators.fakes import item
from tests.indicators.integration.support import Running, Service, figure


def held(item_id: str, version: int, amount: str = "100") -> ItemSnapshot:
    return item(item_id, version=version, open_amount=amount, amount="100", status_code="price_dispute",
                status_since=DISPUTE_SINCE, held_by="f1", held_type=ActionType.FOLLOW_UP)


class Batch:
    """Records for one consumer group, built the way the follow-ups' relay publishes them."""

    def __init__(self, service: Service, tenant: Running) -> None:
        self.service, self.tenant = service, tenant
        self.records: list[RawRecord] = []

    def add(self, payload: EventPayload, envelope: Envelope | None = None) -> Envelope:
        envelope = envelope or self.tenant.publisher.envelope(payload)
        self.records.append(RawRecord(
            topic=self.service.topics(payload.stream), partition=0, offset=len(self.records),
            key=envelope.partitionkey.encode(), value=envelope.kafka_value(),
            headers=envelope.kafka_headers()))
        return envelope

    async def consume(self, group: str) -> None:
        routers: list[EventRouter] = self.service.app.state.runtime.routers
        await next(router for router in routers if router.consumer == group).consume_batch(self.records)


class TestBatchThroughTheConsumer:
    async def test_several_events_on_the_same_items_in_one_batch_end_equal_to_a_recompute(
        self, indicators: Service, tenant: Running, tenant_id: str, caplog: pytest.LogCaptureFixture,
    ) -> None:
        send = tenant.publisher.send
        await send(status("price_dispute", StatusCategory.DISPUTE, dispute=True))
        await send(status("dispute_resolved", StatusCategory.RESOLVED, dispute=False))
        await send(client())
        imported = ItemsUpserted(client_id="c1", items=[item(f"i{n}", open_amount="100") for n in (1, 2, 3)])
        imported_envelope = await send(imported)
        await tenant.wait_for(lambda b: figure(b, "total_outstanding") == 300, scope="collector", scope_id="anna")
        caplog.set_level(logging.WARNING, logger="shared.platform.consumer")

        holds = Batch(indicators, tenant)
        detach = ItemsDetached(client_id="c1", action_id="f1", action_type=ActionType.FOLLOW_UP,
                               items=[held("i1", 3), held("i2", 3)])
        detached = holds.add(detach)
        holds.add(ItemsReattached(client_id="c1", action_id="f1", reason=ReattachReason.RESOLVED_STATUS,
                                  items=[item("i2", version=4, open_amount="100", status_code="dispute_resolved")]))
        holds.add(detach, detached)  # redelivered inside the batch
        holds.add(ItemsReattached(client_id="c1", action_id="f1", reason=ReattachReason.REMOVED_FROM_ACTION,
                                  items=[item("i1", version=2, open_amount="100")]))  # older than i1's v3
        await holds.consume(CHANGES)
        # (the status definitions travel on their own stream: they may be applied after the batch)
        body = await tenant.wait_for(lambda b: figure(b, "disputed_outstanding") == 100)
        assert body["open_disputes"] == 1
        await tenant.assert_recompute_is_clean()

        items = Batch(indicators, tenant)
        items.add(imported, imported_envelope)  # redelivered from an earlier batch: already handled
        items.add(ItemsUpserted(client_id="c1", items=[held("i1", 5, amount="60")]))
        items.add(ItemsUpserted(client_id="c1", items=[item("i3", version=2, open_amount="50")]))
        items.add(ItemsUpserted(client_id="c1", items=[item("i3", version=3, open_amount="100")]))  # back again
        items.add(ItemsClosed(client_id="c1", items=[item("i2", version=5, open_amount="0", amount="100",
                                                          status_code="dispute_resolved")]))
        await items.consume(CHANGES)
        body = await tenant.kpis()  # the batch has committed
        assert (figure(body, "total_outstanding"), figure(body, "disputed_outstanding")) == (160, 60)
        assert figure(body, "open_items") == 2
        await tenant.assert_recompute_is_clean()
        assert not [r for r in caplog.records if "one by one" in r.getMessage()], "a batch fell back to one by one"
        await assert_no_document_holds_dates_of_two_months(indicators, tenant_id)


async def assert_no_document_holds_dates_of_two_months(service: Service, tenant_id: str) -> None:
    """Per-date sums are stored per figure and month, beside the plain sums of their aggregate."""
    parts = await service.app.state.runtime.db[AGGREGATES].find({"tenant_id": tenant_id}).to_list()
    assert {doc.get("part") for doc in parts} >= {None, "due.2026-10", "invoiced.2026-09"}
    for doc in parts:
        dated = {name: days for name, days in doc["figures"].items() if isinstance(days, dict)}
        if doc.get("part") is None:
            assert dated == {}, doc
        else:
            figure, month = doc["part"].split(".")
            assert set(dated) == {figure} and {day[:7] for day in dated[figure]} == {month}, doc
