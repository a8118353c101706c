"""Idempotent writes on followups, on the fakes and through MongoDB (twins): a follow-up created with an
`Idempotency-Key` and retried exists once and was published once; a status change retried applies once
and its key refuses another body; a keyed import of several chunks commits once, and its retry gets the
same report."""

from shared.contracts.actions import ActionChanged
from shared.contracts.receivables import ItemStatusChanged
from shared.platform.idempotency import HEADER, REPLAYED_HEADER
from tests.followups.helpers import Api, seed_client, seed_people


async def test_a_follow_up_created_and_retried_with_its_key_exists_once(api: Api) -> None:
    await seed_people(api)
    ids = await seed_client(api, items=3)
    body = {"client_id": "C1", "item_ids": ids[:2], "type": "follow_up", "name": "Price dispute",
            "scheduled_for": "2026-11-30"}
    first = await api.http.post("/actions", json=body, headers={HEADER: "create-C1"})
    again = await api.http.post("/actions", json=body, headers={HEADER: "create-C1"})
    assert (first.status_code, again.status_code, again.headers[REPLAYED_HEADER]) == (201, 201, "true")
    assert again.json()["action_id"] == first.json()["action_id"]
    assert [a["action_id"] for a in await api.ok("GET", "/actions?client_id=C1")] == [first.json()["action_id"]]
    await api.events.wait(api.tenant_id, ActionChanged)
    await api.events.settle(api.tenant_id)
    created = api.events.of(api.tenant_id, ActionChanged)
    assert [e["data"]["change"] for e in created] == ["created"]


async def test_a_status_change_retried_applies_once_and_its_key_refuses_another_body(api: Api) -> None:
    await seed_people(api)
    ids = await seed_client(api, items=2)
    action = await api.ok("POST", "/actions", 201, json={"client_id": "C1", "item_ids": ids, "type": "follow_up",
                                                         "name": "Dispute", "scheduled_for": "2026-11-30"})
    url = f"/actions/{action['action_id']}/item-status"
    body = {"status_code": "credit_note_requested", "comment": "once"}
    answers = [await api.http.post(url, json=body, headers={HEADER: "status-1"}) for _ in range(2)]
    other = await api.http.post(url, json={**body, "comment": "twice"}, headers={HEADER: "status-1"})
    assert [a.status_code for a in answers] == [200, 200] and answers[1].headers[REPLAYED_HEADER] == "true"
    assert other.status_code == 422 and other.json()["title"] == "Idempotency-Key reused"
    history = await api.ok("GET", f"/items/{ids[0]}/history")
    assert [h["comment"] for h in history] == ["once"]
    await api.events.wait(api.tenant_id, ItemStatusChanged)
    await api.events.settle(api.tenant_id)
    assert len(api.events.of(api.tenant_id, ItemStatusChanged)) == 1


async def test_a_keyed_import_of_several_chunks_commits_once(api: Api) -> None:
    await seed_people(api)
    await seed_client(api, items=0)
    rows = [{"item_id": f"C1-{n}", "client_id": "C1", "number": f"INV-{n}", "issue_date": "2026-09-01",
             "due_date": "2026-10-24", "amount": "10.00", "open_amount": "10.00", "currency": "EUR"}
            for n in range(120)]  # three chunks of 50 (the tests' `import_chunk_rows`)
    first = await api.http.post("/imports/items", json=rows, headers={HEADER: "import-1"})
    again = await api.http.post("/imports/items", json=rows, headers={HEADER: "import-1"})
    plain = await api.ok("POST", "/imports/items", json=rows)  # without the key: processed, nothing new
    assert first.status_code == again.status_code == 200 and again.headers[REPLAYED_HEADER] == "true"
    assert again.json() == first.json() and first.json()["created"] == 120
    assert plain["created"] == 0
