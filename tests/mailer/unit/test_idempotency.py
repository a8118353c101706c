"""Idempotent writes on fakes: the mailer offline keeps its `Idempotency-Key` answers in memory, so the
rules play out without a database; a bare app on the shared `create_http_app` holds a request in flight."""

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from shared.platform.auth import CurrentPrincipal
from shared.platform.http import create_http_app
from shared.platform.idempotency import HEADER, REPLAYED_HEADER, MemoryIdempotencyStore, fingerprint
from shared.platform.runtime import ServiceRuntime
from shared.platform.settings import PlatformSettings
from tests.mailer.unit.conftest import OfflineMailer

ENTRY = {"email": "hard.bounce@dupont.example", "reason": "bounced"}


class TestOnTheMailer:
    async def test_a_retry_with_the_same_key_gets_the_first_answer_and_changes_nothing(
        self, mailer: OfflineMailer,
    ) -> None:
        async with mailer.http("credit_manager") as http:
            await http.post("/suppressions", json=ENTRY)
            first = await http.delete(f"/suppressions/{ENTRY['email']}", headers={HEADER: "k-1"})
            assert (await http.post("/suppressions", json=ENTRY)).status_code == 201  # put back by someone else
            again = await http.delete(f"/suppressions/{ENTRY['email']}", headers={HEADER: '"k-1"'})  # the draft's form
            listed = (await http.get("/suppressions")).json()
        assert (first.status_code, REPLAYED_HEADER.lower() in first.headers) == (204, False)
        assert (again.status_code, again.headers[REPLAYED_HEADER]) == (204, "true")
        assert [entry["email"] for entry in listed] == [ENTRY["email"]]  # the retry removed nothing

    async def test_a_created_resource_is_replayed_with_its_body(self, mailer: OfflineMailer) -> None:
        async with mailer.http("credit_manager") as http:
            first = await http.post("/suppressions", json=ENTRY, headers={HEADER: "create-1"})
            again = await http.post("/suppressions", json=ENTRY, headers={HEADER: "create-1"})
            plain = await http.post("/suppressions", json=ENTRY)  # without a key: as today
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["content-type"] == first.headers["content-type"]
        assert again.headers["x-correlation-id"] != first.headers["x-correlation-id"]  # an exchange of its own
        assert plain.status_code == first.status_code and REPLAYED_HEADER.lower() not in plain.headers

    async def test_the_same_key_with_another_body_is_refused_with_422(self, mailer: OfflineMailer) -> None:
        async with mailer.http("credit_manager") as http:
            await http.post("/suppressions", json=ENTRY, headers={HEADER: "k-2"})
            other = await http.post("/suppressions", json={**ENTRY, "email": "other@dupont.example"},
                                    headers={HEADER: "k-2"})
            listed = (await http.get("/suppressions")).json()
        assert other.status_code == 422
        assert other.headers["content-type"] == "application/problem+json"
        assert other.json()["title"] == "Idempotency-Key reused"
        assert [entry["email"] for entry in listed] == [ENTRY["email"]]

    async def test_keys_belong_to_a_tenant(self, mailer: OfflineMailer) -> None:
        async with mailer.http("credit_manager") as acme, mailer.http("credit_manager", tenant="globex") as globex:
            ours = await acme.post("/suppressions", json=ENTRY, headers={HEADER: "shared"})
            theirs = await globex.post("/suppressions", json=ENTRY, headers={HEADER: "shared"})
        assert ours.status_code == theirs.status_code == 201
        assert REPLAYED_HEADER.lower() not in theirs.headers

    async def test_a_refused_request_is_kept_too_and_a_bad_key_is_a_400(self, mailer: OfflineMailer) -> None:
        async with mailer.http("credit_manager") as http:
            bad = await http.post("/suppressions", json={**ENTRY, "email": "nope"}, headers={HEADER: "k-3"})
            again = await http.post("/suppressions", json={**ENTRY, "email": "nope"}, headers={HEADER: "k-3"})
            too_long = await http.post("/suppressions", json=ENTRY, headers={HEADER: "x" * 256})
        assert (bad.status_code, again.status_code, again.headers[REPLAYED_HEADER]) == (422, 422, "true")
        assert too_long.status_code == 400

    async def test_without_a_token_the_route_answers_as_without_a_key(self, mailer: OfflineMailer) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mailer.app), base_url="http://mailer") as http:
            response = await http.post("/suppressions", json=ENTRY, headers={HEADER: "k-4"})
        assert response.status_code == 401

    async def test_every_mutating_operation_documents_the_header(self, mailer: OfflineMailer) -> None:
        async with mailer.http() as http:
            spec = (await http.get("/openapi.json")).json()
        mutating = [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()
                    if method in {"post", "put", "patch", "delete"}]
        assert len(mutating) >= 4
        for path, method, op in mutating:
            assert HEADER in [p["name"] for p in op.get("parameters", []) if p["in"] == "header"], (method, path)
        reads = [op for ops in spec["paths"].values() for method, op in ops.items() if method == "get"]
        assert all(HEADER not in [p["name"] for p in op.get("parameters", [])] for op in reads)


def held_app(public_key: Path) -> tuple[FastAPI, asyncio.Event, list[str]]:
    """A service whose one write waits until the test lets it go, counting how often it ran."""
    runtime = ServiceRuntime(name="probe", settings=PlatformSettings(auth_public_key_file=public_key), offline=True)
    router, release, ran = APIRouter(), asyncio.Event(), []

    @router.post("/things")
    async def make(body: dict[str, str], principal: CurrentPrincipal) -> dict[str, int]:
        ran.append(body["name"])
        await release.wait()
        return {"made": len(ran)}

    async def wire(runtime: ServiceRuntime, app: FastAPI) -> None:
        return None

    return create_http_app(runtime, title="probe", description="", routers=[router], wire=wire), release, ran


async def test_a_retry_while_the_first_is_in_flight_gets_409(public_key: Path, token_for: Callable[..., str]) -> None:
    app, release, ran = held_app(public_key)
    headers = {"Authorization": f"Bearer {token_for(tenant_id='acme')}", HEADER: "slow-1"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as http:
        first = asyncio.create_task(http.post("/things", json={"name": "a"}, headers=headers))
        while not ran:
            await asyncio.sleep(0.001)
        during = await http.post("/things", json={"name": "a"}, headers=headers)
        release.set()
        answered = await first
        after = await http.post("/things", json={"name": "a"}, headers=headers)
    assert during.status_code == 409 and int(during.headers["retry-after"]) >= 1
    assert answered.json() == after.json() == {"made": 1}
    assert ran == ["a"] and after.headers[REPLAYED_HEADER] == "true"


def test_the_fingerprint_is_the_method_path_query_and_body() -> None:
    base = fingerprint("POST", "/a", b"", b"{}")
    assert base == fingerprint("POST", "/a", b"", b"{}")
    assert len({base, fingerprint("PUT", "/a", b"", b"{}"), fingerprint("POST", "/b", b"", b"{}"),
                fingerprint("POST", "/a", b"x=1", b"{}"), fingerprint("POST", "/a", b"", b"{ }")}) == 5


async def test_an_unreachable_key_store_answers_503_and_runs_nothing(
    public_key: Path, token_for: Callable[..., str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def unreachable(self: MemoryIdempotencyStore, record: object, *, now: float) -> None:
        raise ConnectionError("no database")

    monkeypatch.setattr(MemoryIdempotencyStore, "begin", unreachable)
    app, release, ran = held_app(public_key)
    release.set()
    headers = {"Authorization": f"Bearer {token_for(tenant_id='acme')}", HEADER: "k-5"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as http:
        answer = await http.post("/things", json={"name": "a"}, headers=headers)
    assert answer.status_code == 503 and ran == []
