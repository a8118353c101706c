"""Receivables intake: bulk imports (CSV, JSON, NDJSON) with a per-row report, single upserts, closing items;
every change publishes an item event, and re-sending the same rows changes nothing."""

from decimal import Decimal

import pytest

from shared.contracts.receivables import ClientUpserted, ItemsClosed, ItemsUpserted
from tests.followups.helpers import Api, seed_client, seed_people

CSV = """item_id;client_id;number;kind;issue_date;due_date;amount;open_amount;currency
I-1;C1;F-1;invoice;2026-09-01;2026-10-01;1 234,56;1 234,56;EUR
I-2;C1;F-2;invoice;2026-09-02;2026-10-02;99,90;0;EUR
I-3;NOPE;F-3;invoice;2026-09-03;2026-10-03;10;10;EUR
I-4;C1;F-4;invoice;2026-13-45;2026-10-04;10;10;EUR
I-1;C1;F-1;invoice;2026-09-01;2026-10-01;1 234,56;1 234,56;EUR
I-5;C1;"F-5; avoir";credit_note;2026-09-05;2026-10-05;-50,00;-50,00;EUR
I-6;C1;F-6;invoice;2026-09-06;2026-10-06;10;20;EUR
"""


class TestBulkImport:
    async def test_a_csv_import_reports_every_rejected_row_and_imports_the_rest(self, api: Api) -> None:
        await seed_people(api)
        await seed_client(api, "C1", items=0)
        report = await api.ok("POST", "/imports/items", content=CSV.encode(),
                              headers={"Content-Type": "text/csv; charset=utf-8"})
        assert (report["rows"], report["created"], report["closed"]) == (7, 2, 1)
        rejected = {r["row"]: (r["key"], r["errors"]) for r in report["rejected"]}
        assert rejected[4] == ("I-3", ["unknown client 'NOPE': import the client first"])
        assert rejected[5][0] == "I-4" and "issue_date" in rejected[5][1][0]
        assert rejected[6] == ("I-1", ["duplicate of row 2"])
        assert rejected[8][0] == "I-6" and "open_amount is larger than amount" in rejected[8][1][0]
        assert len(rejected) == 4 and report["rows"] == report["created"] + report["closed"] + len(rejected)

        upserted = await api.events.wait(api.tenant_id, ItemsUpserted)
        items = {i["item_id"]: i for e in upserted for i in e["data"]["items"]}
        assert set(items) == {"I-1", "I-5"}
        assert Decimal(items["I-1"]["open_amount"]) == Decimal("1234.56") and items["I-1"]["version"] == 1
        assert items["I-5"]["kind"] == "credit_note" and items["I-5"]["number"] == "F-5; avoir"
        closed = await api.events.wait(api.tenant_id, ItemsClosed)
        assert [i["item_id"] for i in closed[0]["data"]["items"]] == ["I-2"]
        assert all(e["_key"] == f"{api.tenant_id}:C1" for e in upserted + closed)

    async def test_json_and_ndjson_imports_stream_in_chunks_and_resending_changes_nothing(self, api: Api) -> None:
        await seed_people(api)
        await seed_client(api, "C1", items=0)
        rows = [{"item_id": f"J-{n}", "client_id": "C1", "number": f"J-{n}", "issue_date": "2026-09-01",
                 "due_date": "2026-10-01", "amount": "10.00", "open_amount": "10.00", "currency": "EUR"}
                for n in range(120)]  # more than one chunk of 50 rows (the test setting)
        report = await api.ok("POST", "/imports/items", json=rows)
        assert (report["created"], report["rejected"]) == (120, [])
        await api.events.wait(api.tenant_id, ItemsUpserted, 3)  # one event per client per chunk
        ndjson = "\n".join(__import__("json").dumps(row) for row in rows).encode()
        again = await api.ok("POST", "/imports/items", content=ndjson,
                             headers={"Content-Type": "application/x-ndjson"})
        assert (again["unchanged"], again["created"], again["updated"]) == (120, 0, 0)
        events = await api.events.settle(api.tenant_id)
        assert sum(len(e["data"]["items"]) for e in events if e["type"] == ItemsUpserted.type_name()) == 120

    @pytest.mark.fakes_suffice
    async def test_an_unknown_column_is_refused_before_anything_is_written(self, api: Api) -> None:
        error = await api.fails("POST", "/imports/items", 422, content=b"item_id;client_id;colour\nI;C1;red\n",
                                headers={"Content-Type": "text/csv"})
        assert error["code"] == "unknown_columns" and error["columns"] == ["colour"]

    async def test_a_malformed_body_stops_with_the_reason_and_keeps_what_came_before(self, api: Api) -> None:
        await seed_people(api)
        await seed_client(api, "C1", items=0)
        body = b'[{"item_id": "K-1", "client_id": "C1", "number": "K-1", "issue_date": "2026-09-01", ' \
               b'"due_date": "2026-10-01", "amount": "5", "open_amount": "5", "currency": "EUR"}, {"oops": '
        report = await api.ok("POST", "/imports/items", content=body, headers={"Content-Type": "application/json"})
        assert report["created"] == 1 and "element 2 is not valid JSON" in report["stopped"]

    @pytest.mark.fakes_suffice
    async def test_other_body_types_are_a_415_and_imports_need_a_credit_manager(self, api: Api) -> None:
        await api.fails("POST", "/imports/items", 415, content=b"<xml/>", headers={"Content-Type": "text/xml"})
        async with api.as_user("u-col", "collector") as collector:
            await collector.fails("POST", "/imports/items", 403, json=[])
        async with api.as_user("u-cm", "credit_manager") as manager:
            assert (await manager.ok("POST", "/imports/items", json=[]))["rows"] == 0

    async def test_clients_import_from_csv_with_their_contact_and_late_penalties(self, api: Api) -> None:
        await seed_people(api)
        csv = ("client_id,number,name,language,currency,collector_id,contact_name,contact_email,"
               "late_penalty_rate,late_penalty_fee\n"
               "C7,C7,Dupont SA,fr,EUR,u-col,Marie Dupont,marie@dupont.example,0.10,40\n"
               "C8,C8,Smith Ltd,en,GBP,ghost,,,,\n")
        report = await api.ok("POST", "/imports/clients", content=csv.encode(), headers={"Content-Type": "text/csv"})
        assert report["created"] == 1
        assert report["rejected"] == [{"row": 3, "key": "C8",
                                       "errors": ["unknown collector 'ghost': it must be an active user"]}]
        event = (await api.events.wait(api.tenant_id, ClientUpserted, client_id="C7"))[0]["data"]
        assert event["collector"] == {"user_id": "u-col", "name": "Jean Martin", "email": "u-col@acme.example",
                                      "phone": None}
        assert event["contacts"][0]["email"] == "marie@dupont.example" and event["contacts"][0]["is_primary"]
        assert Decimal(event["late_penalties"]["annual_rate"]) == Decimal("0.10") and event["version"] == 1


class TestSingleUpserts:
    async def test_closing_an_item_is_an_update_like_any_other(self, api: Api) -> None:
        await seed_people(api)
        [item_id, *_] = await seed_client(api, "C1", items=1)
        body = {"client_id": "C1", "number": "INV-C1-1", "issue_date": "2026-09-01", "due_date": "2026-10-24",
                "amount": "100.00", "open_amount": "0", "currency": "EUR"}
        answer = await api.ok("PUT", f"/items/{item_id}", json=body)
        assert answer["change"] == "closed" and answer["item"]["version"] == 2
        event = (await api.events.wait(api.tenant_id, ItemsClosed))[0]["data"]["items"][0]
        assert event["item_id"] == item_id and Decimal(event["open_amount"]) == 0 and event["version"] == 2
        assert (await api.ok("PUT", f"/items/{item_id}", json=body))["change"] == "unchanged"

    async def test_a_client_change_publishes_the_next_version_and_the_same_body_publishes_nothing(
            self, api: Api) -> None:
        await seed_people(api)
        await seed_client(api, "C1", items=0)
        body = {"number": "C1", "name": "Client C1 (renamed)", "language": "fr", "currency": "EUR",
                "collector_id": "u-col"}
        assert (await api.ok("PUT", "/clients/C1", json=body))["change"] == "updated"
        assert (await api.ok("PUT", "/clients/C1", json=body))["change"] == "unchanged"
        events = await api.events.wait(api.tenant_id, ClientUpserted, 2, client_id="C1")
        await api.events.settle(api.tenant_id)
        assert [e["data"]["version"] for e in api.events.of(api.tenant_id, ClientUpserted)] == [1, 2]
        assert events[-1]["data"]["name"] == "Client C1 (renamed)"

    @pytest.mark.fakes_suffice
    async def test_bad_single_upserts_are_precise_4xx(self, api: Api) -> None:
        await seed_people(api)
        await seed_client(api, "C1", items=1)
        await seed_client(api, "C2", items=0)
        moved = {"client_id": "C2", "number": "INV-C1-1", "issue_date": "2026-09-01", "due_date": "2026-10-24",
                 "amount": "100.00", "open_amount": "100.00", "currency": "EUR"}
        error = await api.fails("PUT", "/items/C1-1", 422, json=moved)
        assert "cannot move to another client" in error["detail"]
        await api.fails("PUT", "/items/X", 422, json={**moved, "item_id": "Y"})
        await api.fails("PUT", "/items/X", 422, json={**moved, "amount": "NaN"})
        await api.fails("PUT", "/items/X", 422, json={**moved, "surprise": 1})
        await api.fails("PUT", "/clients/C9", 422, json={"number": "C9", "name": "x", "language": "french",
                                                         "currency": "EUR"})
        await api.fails("GET", "/clients/C9", 404)
        await api.fails("GET", "/items/nope", 404)
