"""Idempotent writes through the real database: a retried request applies once, its answer kept in the
mailer's own `idempotency_keys` beside the change it answers; a request whose transaction did not
commit leaves neither the change nor the answer, so its retry is processed again."""

from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from devstack.testing.infra import Infrastructure
from shared.platform import idempotency
from shared.platform.idempotency import HEADER, REPLAYED_HEADER
from shared.platform.idempotency_mongo import COLLECTION, MongoIdempotencyStore
from tests.mailer.integration.conftest import TENANT, Mailer


def client(mailer: Mailer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=mailer.base_url, headers=mailer.auth("credit_manager", TENANT))


async def listed(http: httpx.AsyncClient) -> list[str]:
    return [entry["email"] for entry in (await http.get("/suppressions", params={"limit": 500})).json()]


async def test_a_retry_with_the_same_key_applies_once(mailer: Mailer, infra: Infrastructure) -> None:
    entry = {"email": "retried@dupont.example", "reason": "asked by phone"}
    async with client(mailer) as http:
        first = await http.post("/suppressions", json=entry, headers={HEADER: "idem-int-1"})
        assert (await http.delete(f"/suppressions/{entry['email']}")).status_code == 204  # then taken off
        again = await http.post("/suppressions", json=entry, headers={HEADER: "idem-int-1"})
        other = await http.post("/suppressions", json={**entry, "reason": "changed"}, headers={HEADER: "idem-int-1"})
        after = await listed(http)
    assert (first.status_code, again.status_code, again.headers[REPLAYED_HEADER]) == (201, 201, "true")
    assert again.json() == first.json()
    assert entry["email"] not in after  # the retry wrote nothing
    assert other.status_code == 422
    keys = AsyncMongoClient(infra.mongodb_url, tz_aware=True)[mailer.database][COLLECTION]
    [kept] = await keys.find({"tenant_id": TENANT, "key": "idem-int-1"}).to_list()
    assert (kept["state"], kept["answer"]["status"]) == ("done", 201)
    assert kept["expires_at"] > kept["lease_until"]
    assert "expires_at_1" in await keys.index_information()  # the TTL index (nothing waits on its reaping)


async def test_a_request_that_did_not_commit_is_processed_again(mailer: Mailer, infra: Infrastructure,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    entry = {"email": "crashed@dupont.example", "reason": "asked by letter"}
    complete, held = MongoIdempotencyStore.complete, []

    async def fail_before_commit(self: MongoIdempotencyStore, record: Any, transaction: Any) -> bool:
        held.append(transaction)  # the change waiting in the request's transaction
        raise ConnectionError("the database went away before the commit")

    async with client(mailer) as http:
        monkeypatch.setattr(MongoIdempotencyStore, "complete", fail_before_commit)
        lost = await http.post("/suppressions", json=entry, headers={HEADER: "idem-int-2"})
        missing = await listed(http)
        monkeypatch.setattr(MongoIdempotencyStore, "complete", complete)
        retried = await http.post("/suppressions", json=entry, headers={HEADER: "idem-int-2"})
        present = await listed(http)
    assert lost.status_code == 503 and entry["email"] not in missing  # rolled back with its answer
    assert len(held) == 1 and held[0] is not None
    assert retried.status_code == 201 and REPLAYED_HEADER.lower() not in retried.headers
    assert entry["email"] in present


async def test_a_request_that_committed_but_whose_answer_was_lost_is_replayed(
    mailer: Mailer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = {"email": "lost.answer@dupont.example", "reason": "asked by fax"}
    send_answer, lost = idempotency.send_answer, []

    async def connection_drops(send: Any, answer: Any) -> None:
        lost.append(answer.status)
        raise ConnectionResetError("the client's connection dropped before the answer went out")

    async with client(mailer) as http:
        monkeypatch.setattr(idempotency, "send_answer", connection_drops)
        try:
            dropped = await http.post("/suppressions", json=entry, headers={HEADER: "idem-int-3"})
        except httpx.HTTPError:
            dropped = None
        monkeypatch.setattr(idempotency, "send_answer", send_answer)
        retried = await http.post("/suppressions", json=entry, headers={HEADER: "idem-int-3"})
        present = await listed(http)
    assert lost == [201] and (dropped is None or dropped.status_code >= 500)  # the client never saw the 201
    assert (retried.status_code, retried.headers[REPLAYED_HEADER]) == (201, "true")
    assert present.count(entry["email"]) == 1
