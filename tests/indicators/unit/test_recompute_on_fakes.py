"""Recompute and compare through the API, offline: a drifted aggregate, a lost history entry and a
stale count are reported, then repaired (the twin of `integration/test_recompute.py`, whose damage
is done to MongoDB and which also runs the command line)."""

from dataclasses import replace
from decimal import Decimal

from services.indicators.domain.figures import AggregateKey, F, Figures
from shared.contracts.receivables import ItemsDetached, ItemsUpserted
from shared.contracts.values import ActionType, StatusCategory
from tests.indicators.builders import DISPUTE_SINCE, client, status
from tests.indicators.fakes import item
from tests.indicators.integration.support import Running, figure
from tests.indicators.offline import OfflineService


class TestRecomputeAndCompareOnFakes:
    async def test_a_drifted_aggregate_and_a_stale_count_are_reported_then_repaired(
        self, indicators: OfflineService, tenant: Running, tenant_id: str,
    ) -> None:
        send = tenant.publisher.send
        await send(status("price_dispute", StatusCategory.DISPUTE, dispute=True))
        await send(client())
        await send(ItemsUpserted(client_id="c1", items=[item("i1", open_amount="100")]))
        await send(ItemsUpserted(client_id="c2", items=[item("i2", client_id="c2", open_amount="40")]), key_id="c2")
        await send(ItemsDetached(client_id="c1", action_id="f1", action_type=ActionType.FOLLOW_UP, items=[
            item("i1", version=2, open_amount="100", status_code="price_dispute", status_since=DISPUTE_SINCE,
                 held_by="f1", held_type=ActionType.FOLLOW_UP)]))
        assert figure(await tenant.kpis("tenant", None), "total_outstanding") == 140
        await tenant.assert_recompute_is_clean()
        # damage: the tenant's EUR outstanding drifts by 5 outside the history; the history loses the
        # entry of i2's import; i2 is held as counted under a stale rule
        store = indicators.store
        tenant_eur = AggregateKey("tenant", "EUR")
        store.aggregates[tenant_id][tenant_eur] += Figures({F.OUTSTANDING: Decimal(5)})
        store.history[tenant_id] = [entry for entry in store.history[tenant_id] if entry.subject_id != "i2"]
        i2 = store.items[(tenant_id, "i2")]
        stale = i2.counted.model_copy(update={"status_rule": "info:plain"})
        store.items[(tenant_id, "i2")] = replace(i2, counted=stale)

        report = (await tenant.http.post("/admin/recompute")).json()
        assert [(d["scope"], d["figure"], d["incremental"], d["recomputed"]) for d in report["differences"]] == [
            ("tenant", "outstanding", "145", "140")]
        history = {(d["scope"], d["figure"]): (d["incremental"], d["recomputed"])
                   for d in report["history_differences"]}
        assert history[("tenant", "outstanding")] == ("145", "100")
        assert history[("client:c2", "outstanding")] == ("40", "0")
        assert (report["stale_counts"], report["stale_examples"]) == (1, ["i2"])

        repaired = (await tenant.http.post("/admin/recompute", params={"repair": "true"})).json()
        assert repaired["repaired"] is True
        assert (repaired["differences"], repaired["history_differences"], repaired["stale_counts"]) == ([], [], 0)
        whole = await tenant.kpis("tenant", None)
        assert figure(whole, "total_outstanding") == 140
        explained = (await tenant.http.get("/kpis/explain", params={
            "scope": "tenant", "kpi": "total_outstanding", "currency": "EUR",
            "from": "2026-01-01T00:00:00Z", "to": whole["computed_at"]})).json()
        corrections = [(m["subject_id"], m["change"]) for m in explained["movers"] if m["subject_kind"] == "correction"]
        assert corrections == [("tenant/EUR", "40")]  # the history catching up with the lost entry
