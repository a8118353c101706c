"""A token of tenant B can neither see nor touch anything of tenant A, whatever ids it sends."""

import uuid
from collections.abc import Callable

from shared.contracts.receivables import ItemStatusChanged
from tests.followups.helpers import Api, Service, seed_client, seed_people

PDF = b"%PDF-1.4 tenant A's document"


async def test_tenant_b_cannot_see_or_touch_tenant_a(api: Api, followups: Service,
                                                       token_for: Callable[..., str]) -> None:
    await seed_people(api)
    ids = await seed_client(api, items=2)
    action = (await api.ok("POST", "/wizard/change-status", json={
        "client_id": "C1", "item_ids": ids[:1], "status_code": "price_dispute"}))["action"]
    url = f"/actions/{action['action_id']}"
    attachment = await api.ok("POST", f"{url}/attachments", 201, files={"file": ("a.pdf", PDF, "application/pdf")})
    template = await api.ok("POST", "/admin/templates", 201, json={
        "name": "A's template", "variants": {"en": {"subject": "s", "body": "b"}}})

    async with Api(followups, "tenant-b-" + uuid.uuid4().hex[:6], token_for, role="admin") as other:
        await seed_people(other)
        for path in ("/clients/C1", "/clients/C1/items", "/clients/C1/history", f"/items/{ids[0]}",
                     f"/items/{ids[0]}/history", url, f"{url}/items", f"{url}/history", f"{url}/emails",
                     f"{url}/attachments", f"/attachments/{attachment['attachment_id']}",
                     f"/templates/{template['template_id']}"):
            await other.fails("GET", path, 404)
        assert await other.ok("GET", "/clients") == [] and await other.ok("GET", "/actions") == []
        assert await other.ok("GET", "/templates") == []
        for method, path, body in (("PUT", f"{url}/name", {"name": "hijacked"}),
                                   ("POST", f"{url}/comments", {"text": "hi"}),
                                   ("POST", f"{url}/items/remove", {"item_ids": ids[:1]}),
                                   ("POST", f"{url}/close", {"resolution_note": "x"}),
                                   ("DELETE", url, None),
                                   ("PUT", f"/admin/templates/{template['template_id']}",
                                    {"name": "x", "variants": {"en": {"subject": "s", "body": "b"}}})):
            await other.fails(method, path, 404, json=body)
        await other.fails("POST", f"{url}/attachments", 404, files={"file": ("b.pdf", PDF, "application/pdf")})

        # B's own client with A's ids: A's items are unknown to B, A's action cannot be joined or copied
        await seed_client(other, "C1", items=0)
        error = await other.fails("POST", "/wizard/change-status", 422, json={
            "client_id": "C1", "item_ids": ids, "status_code": "price_dispute"})
        assert error["unknown"] == ids
        error = await other.fails("POST", "/wizard/change-status", 422, json={
            "client_id": "C1", "all_open_items": True, "status_code": "price_dispute"})
        assert error["code"] == "no_open_items"
        await other.fails("POST", "/actions", 422, json={"client_id": "C1", "source": "copy_action",
                                                         "copy_from_action_id": action["action_id"]})
        # B's upsert of an item with A's id creates B's own item; A's stays as it was
        await other.ok("PUT", f"/items/{ids[1]}", json={"client_id": "C1", "number": "B-1", "amount": "1",
                                                         "open_amount": "0", "issue_date": "2026-09-01",
                                                         "due_date": "2026-10-01", "currency": "EUR"})

    a_action = await api.ok("GET", url)
    assert a_action["name"] == action["name"] and a_action["state"] == "open"
    assert [e["kind"] for e in await api.ok("GET", f"{url}/history")] == ["created", "attachment_added"]
    a_item = await api.ok("GET", f"/items/{ids[1]}")
    assert (a_item["number"], a_item["open_amount"], a_item["version"]) == ("INV-C1-2", "100.00", 1)
    assert all(e["tenant_id"] == api.tenant_id for e in api.events.of(api.tenant_id, ItemStatusChanged))
    assert not any(e["data"].get("items", [{}])[0].get("number") == "B-1" for e in api.events.of(api.tenant_id))
