"""Recompute and compare catches what the incremental path got wrong, and a repair puts it right,
leaving a correction in the history."""

import asyncio
import json
import os
import sys
from decimal import Decimal
from typing import Any

from services.indicators.adapters.mongo import AGGREGATES, HISTORY, ITEMS, doc_id
from shared.contracts.receivables import ItemsDetached, ItemsUpserted
from shared.contracts.values import ActionType, StatusCategory
from tests.indicators.builders import DISPUTE_SINCE, client, status
from tests.indicators.fakes import item
from tests.indicators.integration.support import Running, Service, figure


async def command_line(service: Service, *args: str) -> tuple[int, dict[str, Any]]:
    """`python -m services.indicators.api.cli …` against the service's database."""
    env = {**os.environ, "ARF_MONGODB_URL": service.settings.mongodb_url.get_secret_value(),
           "ARF_MONGODB_DATABASE": service.settings.mongodb_database}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "services.indicators.api.cli", *args,
                                                   env=env, stdout=asyncio.subprocess.PIPE)
    stdout, _ = await process.communicate()
    return process.returncode or 0, json.loads(stdout)


class TestRecomputeAndCompare:
    async def test_a_drifted_aggregate_and_a_stale_count_are_reported_then_repaired(
        self, indicators: Service, tenant: Running, tenant_id: str,
    ) -> None:
        send = tenant.publisher.send
        await send(status("price_dispute", StatusCategory.DISPUTE, dispute=True))
        await send(client())
        await send(ItemsUpserted(client_id="c1", items=[item("i1", open_amount="100")]))
        # i2's client is never described: no recount (immediate or settling) will touch i2
        await send(ItemsUpserted(client_id="c2", items=[item("i2", client_id="c2", open_amount="40")]), key_id="c2")
        await send(ItemsDetached(client_id="c1", action_id="f1", action_type=ActionType.FOLLOW_UP, items=[
            item("i1", version=2, open_amount="100", status_code="price_dispute", status_since=DISPUTE_SINCE,
                 held_by="f1", held_type=ActionType.FOLLOW_UP)]))
        await tenant.wait_for(lambda b: figure(b, "disputed_outstanding") == 100, scope="collector", scope_id="anna")
        await tenant.wait_for(lambda b: figure(b, "total_outstanding") == 140, scope="tenant", scope_id=None)
        await tenant.assert_recompute_is_clean()
        db = tenant.app.state.runtime.db
        # damage: the tenant's EUR outstanding drifts by 5 outside the history; the history loses the
        # entry of i2's import; i2 is stored as counted under a stale rule
        await db[AGGREGATES].update_one({"_id": doc_id(tenant_id, "tenant", "EUR")},
                                        {"$inc": {"figures.outstanding": Decimal(5)}})
        await db[HISTORY].delete_one({"tenant_id": tenant_id, "subject_id": "i2"})
        await db[ITEMS].update_one({"_id": doc_id(tenant_id, "i2")}, {"$set": {"counted.status_rule": "info:plain"}})

        report = (await tenant.http.post("/admin/recompute")).json()
        assert [(d["scope"], d["figure"], d["incremental"], d["recomputed"]) for d in report["differences"]] == [
            ("tenant", "outstanding", "145", "140")]
        history = {(d["scope"], d["figure"]): (d["incremental"], d["recomputed"])
                   for d in report["history_differences"]}
        assert history[("tenant", "outstanding")] == ("145", "100")
        assert history[("client:c2", "outstanding")] == ("40", "0")
        assert (report["stale_counts"], report["stale_examples"]) == (1, ["i2"])
        exit_code, printed = await command_line(indicators, "--tenant", tenant_id)
        assert exit_code == 1 and printed["differences"] == report["differences"]

        repaired = (await tenant.http.post("/admin/recompute", params={"repair": "true"})).json()
        assert repaired["repaired"] is True
        assert (repaired["differences"], repaired["history_differences"], repaired["stale_counts"]) == ([], [], 0)
        assert (await command_line(indicators, "--tenant", tenant_id))[0] == 0
        whole = await tenant.kpis("tenant", None)
        assert figure(whole, "total_outstanding") == 140
        explained = (await tenant.http.get("/kpis/explain", params={
            "scope": "tenant", "kpi": "total_outstanding", "currency": "EUR",
            "from": "2026-01-01T00:00:00Z", "to": whole["computed_at"]})).json()
        corrections = [(m["subject_id"], m["change"]) for m in explained["movers"] if m["subject_kind"] == "correction"]
        assert corrections == [("tenant/EUR", "40")]  # the history catching up with the lost entry
