"""The KPI API over real infrastructure: a scope's KPIs as at any past moment, the daily series,
what moved a KPI between two dates, the group view, a reporting currency, and who may see what."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.indicators.handlers.history import close_history
from shared.contracts.receivables import ItemsClosed, ItemsDetached, ItemsUpserted
from shared.contracts.values import ActionType, ItemSnapshot, StatusCategory
from shared.platform.clock import ManualClock
from tests.indicators.builders import DISPUTE_SINCE, client, status
from tests.indicators.fakes import item
from tests.indicators.integration.support import Running, Service, figure

DAY1 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def disputed(item_id: str, version: int, amount: str, client_id: str = "c1") -> ItemSnapshot:
    return item(item_id, version=version, open_amount=amount, client_id=client_id, status_code="price_dispute",
                status_since=DISPUTE_SINCE, held_by="f1", held_type=ActionType.FOLLOW_UP,
                due_date=date(2026, 11, 10))


async def two_days_of_events(service: Running, clock: ManualClock) -> None:
    """Day 1: two clients of group g1 (entities fr and de), items, one dispute. Day 2: a payment, a dispute."""
    send = service.publisher.send
    await send(status("price_dispute", StatusCategory.DISPUTE, dispute=True))
    await send(client("c1", collector="anna", entity="fr", group="g1"))
    await send(client("c2", collector="bob", entity="de", group="g1"), key_id="c2")
    await send(ItemsUpserted(client_id="c1", items=[item("i1", open_amount="100", due_date=date(2026, 11, 10)),
                                                    item("i2", open_amount="250", due_date=date(2026, 11, 1)),
                                                    item("i3", open_amount="400", due_date=date(2026, 11, 10))]))
    await send(ItemsUpserted(client_id="c2", items=[item("u1", client_id="c2", open_amount="90", currency="USD")]),
               key_id="c2")
    await send(ItemsDetached(client_id="c1", action_id="f1", action_type=ActionType.FOLLOW_UP,
                             items=[disputed("i1", 2, "100")]))
    await service.wait_for(lambda b: figure(b, "disputed_outstanding") == 100 and figure(b, "total_outstanding") == 750)
    # both clients attributed (they may arrive after their items, on another topic) before day 2
    await service.wait_for(
        lambda b: (figure(b, "total_outstanding"), figure(b, "total_outstanding", "USD")) == (750, 90),
        scope="group", scope_id="g1")
    clock.set(DAY1 + timedelta(days=1, hours=1))
    await send(ItemsClosed(client_id="c1", items=[item("i2", version=2, open_amount="0", amount="250",
                                                       due_date=date(2026, 11, 1))]))
    await send(ItemsDetached(client_id="c1", action_id="f1", action_type=ActionType.FOLLOW_UP,
                             items=[disputed("i3", 2, "400")]))
    await service.wait_for(lambda b: figure(b, "disputed_outstanding") == 500 and figure(b, "total_outstanding") == 500)


class TestKpiApi:
    async def test_history_series_explanations_group_view_and_reporting_currency(
        self, indicators: Service, tenant: Running, tenant_id: str,
    ) -> None:
        clock, service = indicators.clock, tenant
        clock.set(DAY1)
        await two_days_of_events(service, clock)
        clock.set(DAY1 + timedelta(days=2))
        api = service.app.state.indicators
        await close_history(uow=api.uow, clock=clock, grace=timedelta(0))
        assert await api.history.closed_through(tenant_id) == date(2026, 11, 3)
        http = service.http

        day1 = (await http.get("/kpis/as-at", params={"scope": "client", "id": "c1",
                                                      "at": "2026-11-02T12:00:00Z"})).json()
        assert (figure(day1, "disputed_outstanding"), figure(day1, "total_outstanding")) == (100, 750)
        assert figure(day1, "overdue_outstanding") == 250  # i2 was due on 1 November
        assert day1["as_at"].startswith("2026-11-02T12:00") and day1["computed_at"].startswith("2026-11-04")
        day2_morning = (await http.get("/kpis/as-at", params={"scope": "client", "id": "c1",
                                                              "at": "2026-11-03T09:30:00Z"})).json()
        assert figure(day2_morning, "disputed_outstanding") == 100  # before the day's events

        series = (await http.get("/kpis/series", params={"scope": "client", "id": "c1", "from": "2026-11-01",
                                                         "to": "2026-11-05"})).json()
        points = {p["day"]: p for p in series["points"]}
        assert sorted(points) == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
        assert points["2026-11-01"]["currencies"] == []
        assert [points[d]["closed"] for d in ("2026-11-02", "2026-11-03", "2026-11-04")] == [True, True, False]
        assert [figure(points[d], "disputed_outstanding") for d in ("2026-11-02", "2026-11-03", "2026-11-04")] == [
            100, 500, 500]
        assert series["computed_at"].startswith("2026-11-04")

        moved = (await http.get("/kpis/explain", params={
            "scope": "client", "id": "c1", "kpi": "total_outstanding", "currency": "EUR",
            "from": "2026-11-02T12:00:00Z", "to": "2026-11-04T00:00:00Z"})).json()
        assert Decimal(moved["change"]) == -250
        assert [(m["subject_id"], Decimal(m["change"])) for m in moved["movers"]] == [("i2", -250)]
        assert moved["movers"][0]["events"][0]["event_type"] == "arf.items.closed.v1"
        disputes = (await http.get("/kpis/explain", params={
            "scope": "tenant", "kpi": "disputed_outstanding", "currency": "EUR",
            "from": "2026-11-01T00:00:00Z", "to": "2026-11-04T00:00:00Z"})).json()
        assert [m["subject_id"] for m in disputes["movers"]] == ["i3", "i1"]

        group = (await http.get("/kpis", params={"scope": "group", "id": "g1"})).json()
        assert [(m["client_id"], m["entity_id"]) for m in group["members"]] == [("c2", "de"), ("c1", "fr")]
        assert (figure(group, "total_outstanding"), figure(group, "total_outstanding", "USD")) == (500, 90)
        assert group["reporting"] is None

        put = await http.put("/settings/reporting-currency", json={"currency": "EUR", "rates": {"USD": "0.9"}})
        assert put.status_code == 200, put.text
        group = (await http.get("/kpis", params={"scope": "group", "id": "g1"})).json()
        assert Decimal(group["reporting"]["total_outstanding"]) == Decimal("581.0")
        assert (await http.get("/kpis", params={"scope": "entity", "id": "de"})).json()["currencies"][0][
            "currency"] == "USD"
        await service.assert_recompute_is_clean()

    async def test_callers_see_their_own_tenant_only_and_bad_requests_get_a_clear_4xx(
        self, tenant: Running, tenant_id: str, token_for: Callable[..., str],
    ) -> None:
        service = tenant
        await service.publisher.send(ItemsUpserted(client_id="c1", items=[item("i1")]))
        await service.wait_for(lambda b: figure(b, "total_outstanding") == 100)
        http = service.http
        async with service.anonymous() as anonymous:
            assert (await anonymous.get("/kpis")).status_code == 401
        other = {"Authorization": f"Bearer {token_for(tenant_id='globex')}"}
        collector = {"Authorization": f"Bearer {token_for(tenant_id=tenant_id, role='collector')}"}
        assert (await http.get("/kpis", params={"scope": "client", "id": "c1"}, headers=other)).status_code == 404
        assert (await http.get("/kpis", params={"scope": "client", "id": "c1"}, headers=collector)).status_code == 200
        assert (await http.post("/admin/recompute", headers=collector)).status_code == 403
        assert (await http.put("/settings/reporting-currency", headers=collector,
                               json={"currency": "EUR", "rates": {}})).status_code == 403
        bad = [  # each refused with a problem naming the field at fault
            ("/kpis", {"scope": "client"}, "query.id"),
            ("/kpis", {"scope": "tenant", "id": "x"}, "query.id"),
            ("/kpis", {"scope": "planet", "id": "x"}, "query.scope"),
            ("/kpis/as-at", {"at": "2026-11-02T12:00:00"}, "query.at"),
            ("/kpis/as-at", {"at": "2999-01-01T00:00:00Z"}, "query.at"),
            ("/kpis/series", {"from": "2026-11-05", "to": "2026-11-01"}, "query.to"),
            ("/kpis/explain", {"kpi": "disputed_outstanding", "from": "2026-11-01T00:00:00Z",
                               "to": "2026-11-02T00:00:00Z"}, "query.currency"),
            ("/kpis/explain", {"kpi": "dso", "currency": "EUR", "from": "2026-11-01T00:00:00Z",
                               "to": "2026-11-02T00:00:00Z"}, "query.kpi"),
        ]
        for path, params, field in bad:
            response = await http.get(path, params=params)
            assert response.status_code == 422, (path, params, response.text)
            assert response.headers["content-type"] == "application/problem+json", (path, params)
            assert [e["field"] for e in response.json()["errors"]] == [field], (path, params, response.text)
        assert (await http.get("/kpis", params={"scope": "client", "id": "nobody"})).status_code == 404
        rates = await http.put("/settings/reporting-currency", json={"currency": "EUR", "rates": {"USD": "-1"}})
        assert rates.status_code == 422
        await service.assert_recompute_is_clean()
