"""Hostile imports: bodies over the limit, wrong encodings, repeated keys and columns, and spreadsheet formulas
in text fields. Each ends with a clear error (a 4xx, or the row rejected with its field), and nothing is
half-written: what the report does not count as written is not stored."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.followups.conftest import IMPORT_LIMIT
from tests.followups.helpers import Api, seed_client, seed_people

HEADER = "item_id,client_id,number,issue_date,due_date,amount,open_amount,currency\n"


def item(item_id: str, **fields: str) -> dict[str, str]:
    return {"item_id": item_id, "client_id": "C1", "number": f"INV-{item_id}", "issue_date": "2026-09-01",
            "due_date": "2026-10-01", "amount": "10", "open_amount": "10", "currency": "EUR", **fields}


def csv_line(item_id: str, number: str | None = None) -> str:
    return f"{item_id},C1,{number or 'INV-' + item_id},2026-09-01,2026-10-01,10,10,EUR\n"


async def stored(api: Api) -> set[str]:
    return {row["item_id"] for row in await api.ok("GET", "/clients/C1/items")}


@pytest.fixture
async def desk(api: Api) -> Api:
    await seed_people(api)
    await seed_client(api, "C1", items=0)
    return api


class TestSize:
    @pytest.mark.fakes_suffice
    async def test_a_body_declared_over_the_limit_is_a_413_before_a_byte_is_read(self, desk: Api) -> None:
        body = (HEADER + csv_line("I-1")).encode().ljust(IMPORT_LIMIT + 1, b"\n")
        error = await desk.fails("POST", "/imports/items", 413, content=body, headers={"Content-Type": "text/csv"})
        assert error["code"] == "too_large" and error["limit"] == IMPORT_LIMIT
        assert await stored(desk) == set()

    async def test_a_streamed_body_stops_at_the_limit_keeping_only_the_rows_before_it(self, desk: Api) -> None:
        async def stream() -> AsyncIterator[bytes]:
            yield (HEADER + csv_line("I-1") + csv_line("I-2")).encode()
            for _ in range(IMPORT_LIMIT // 65536 + 1):
                yield b"\n" * 65536
            yield csv_line("I-3").encode()  # past the limit: never read

        report = await desk.ok("POST", "/imports/items", content=stream(), headers={"Content-Type": "text/csv"})
        assert (report["rows"], report["created"]) == (2, 2)
        assert report["stopped"] == f"the body is larger than {IMPORT_LIMIT} bytes: split the file"
        assert await stored(desk) == {"I-1", "I-2"}


class TestEncodings:
    @pytest.mark.fakes_suffice
    @pytest.mark.parametrize(("body", "reason"), [
        (("\ufeff" + HEADER + csv_line("I-1")).encode("utf-16"), "UTF-16"),
        ((HEADER + csv_line("I-1", "Société")).encode("latin-1"), "latin-1 and Windows-1252 are not read"),
        ((HEADER.encode() + b"I-1,C1,\xc3\x28bad,2026-09-01,2026-10-01,10,10,EUR\n"), "not UTF-8 text"),
    ], ids=["utf-16 with its byte order mark", "latin-1", "invalid utf-8"])
    async def test_a_body_unreadable_from_its_first_rows_is_a_422_and_nothing_is_written(
        self, desk: Api, body: bytes, reason: str,
    ) -> None:
        error = await desk.fails("POST", "/imports/items", 422, content=body, headers={"Content-Type": "text/csv"})
        assert error["code"] == "unreadable_import" and reason in error["detail"], error
        assert await stored(desk) == set()

    async def test_bad_bytes_further_on_stop_the_import_there_with_their_offset(self, desk: Api) -> None:
        good = HEADER + "".join(csv_line(f"I-{n}") for n in range(60))  # more than one chunk of 50 rows
        async def stream() -> AsyncIterator[bytes]:  # the bad bytes come in a later piece of the body
            yield good.encode()
            yield b"I-X,C1,Soci\xe9t\xe9,2026-09-01,2026-10-01,10,10,EUR\n"

        report = await desk.ok("POST", "/imports/items", content=stream(), headers={"Content-Type": "text/csv"})
        assert report["created"] == 60 and report["rows"] == 60
        assert f"at offset {len(good.encode()) + 11}" in report["stopped"]
        assert await stored(desk) == {f"I-{n}" for n in range(60)}


class TestRepeatedKeys:
    @pytest.mark.fakes_suffice
    async def test_a_json_row_naming_a_key_twice_is_rejected_not_guessed(self, desk: Api) -> None:
        body = ('[{"item_id": "I-1", "item_id": "I-2", "client_id": "C1", "number": "N", "issue_date": "2026-09-01",'
                ' "due_date": "2026-10-01", "amount": "10", "open_amount": "10", "currency": "EUR"}]')
        report = await desk.ok("POST", "/imports/items", content=body.encode(),
                               headers={"Content-Type": "application/json"})
        assert report["rejected"] == [{"row": 1, "key": None, "errors": ["key 'item_id' appears more than once"]}]
        ndjson = await desk.ok("POST", "/imports/items", content=body[1:-1].encode(),
                               headers={"Content-Type": "application/x-ndjson"})
        assert ndjson["rejected"][0]["errors"] == ["key 'item_id' appears more than once"]
        assert await stored(desk) == set()

    @pytest.mark.fakes_suffice
    async def test_a_csv_header_repeating_a_column_is_a_422(self, desk: Api) -> None:
        body = ("item_id,client_id,number,number\n" "I-1,C1,A,B\n").encode()
        error = await desk.fails("POST", "/imports/items", 422, content=body, headers={"Content-Type": "text/csv"})
        assert error["code"] == "repeated_columns" and error["columns"] == ["number"]
        assert await stored(desk) == set()

    @pytest.mark.fakes_suffice
    async def test_the_same_item_twice_in_one_file_is_written_once(self, desk: Api) -> None:
        report = await desk.ok("POST", "/imports/items", json=[item("I-1"), item("I-1", amount="99")])
        assert report["created"] == 1 and report["rejected"][0]["errors"] == ["duplicate of row 1"]
        assert (await desk.ok("GET", "/items/I-1"))["amount"] in ("10", "10.00")


class TestFormulas:
    @pytest.mark.parametrize("text", ["=cmd|' /C calc'!A0", "+SUM(A1:A9)", "-2+3+cmd|' /C calc'!A0", "@SUM(1)",
                                      "\t=1+1"])
    async def test_a_text_field_a_spreadsheet_would_run_is_rejected_with_its_field(self, desk: Api,
                                                                                   text: str) -> None:
        report = await desk.ok("POST", "/imports/items", json=[item("I-1", number=text), item("I-2")])
        assert report["created"] == 1
        [rejected] = report["rejected"]
        assert rejected["row"] == 1 and rejected["key"] == "I-1"
        assert rejected["errors"][0].startswith("number: starts with =, +, -, @")
        assert await stored(desk) == {"I-2"}

    @pytest.mark.fakes_suffice
    async def test_csv_clients_with_a_formula_in_a_contact_are_rejected_and_signed_numbers_are_kept(
        self, desk: Api,
    ) -> None:
        body = ("client_id,number,name,language,currency,collector_id,contact_name,contact_phone\n"
                "C7,C7,Dupont SA,fr,EUR,u-col,@HYPERLINK(\"http://x\"),+33 1 23 45 67 89\n"
                "C8,C8,Smith Ltd,en,GBP,u-col,Ann Smith,+44 (0)20 7946 0000\n").encode()
        report = await desk.ok("POST", "/imports/clients", content=body, headers={"Content-Type": "text/csv"})
        assert report["created"] == 1
        assert report["rejected"] == [{"row": 2, "key": "C7", "errors": [
            "contacts.0.name: starts with =, +, -, @, a tab or a carriage return: a spreadsheet would run it as a "
            "formula (write it without that first character, or quote it as text in the ERP)"]}]
        client: dict[str, Any] = await desk.ok("GET", "/clients/C8")
        assert client["contacts"][0]["phone"] == "+44 (0)20 7946 0000"
        await desk.fails("GET", "/clients/C7", 404)

    @pytest.mark.fakes_suffice
    async def test_a_single_upsert_with_a_formula_is_a_422(self, desk: Api) -> None:
        body = {k: v for k, v in item("I-9", number="=1+1").items() if k != "item_id"}
        error = await desk.fails("PUT", "/items/I-9", 422, json=body)
        assert error["code"] == "formula_refused" and error["fields"] == ["number"]
        await desk.fails("GET", "/items/I-9", 404)
