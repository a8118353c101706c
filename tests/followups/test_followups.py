"""Rule 8: a follow-up created from the agenda or the client page; renamed, rescheduled, reassigned, items
added / removed, statuses updated, documents attached, emails sent, comments added — every change in its
history with who, when, before and after, and published when it changes the action; it ends with a close."""

import pytest

from shared.contracts.actions import ActionChanged
from shared.contracts.email import EmailRequested
from shared.contracts.receivables import ItemsDetached, ItemsReattached, ItemStatusChanged
from tests.followups.conftest import ATTACHMENT_LIMIT
from tests.followups.helpers import Api, seed_client, seed_people

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


@pytest.fixture
async def case(api: Api) -> dict:
    """A follow-up on two of a client's three items, created from the client page by the collector."""
    await seed_people(api)
    ids = await seed_client(api, items=3)
    async with api.as_user("u-col", "collector") as collector:
        action = await collector.ok("POST", "/actions", 201, json={
            "client_id": "C1", "item_ids": ids[:2], "type": "follow_up", "name": "Price dispute — Sept",
            "scheduled_for": "2026-11-30"})
    return {"action": action, "ids": ids, "url": f"/actions/{action['action_id']}"}


def last(history: list[dict]) -> dict:
    return history[-1]


class TestCreating:
    async def test_from_the_client_page_with_items_it_holds_them(self, api: Api, case: dict) -> None:
        action = case["action"]
        assert (action["type"], action["owner"]["user_id"], action["item_ids"]) == ("follow_up", "u-col",
                                                                                     case["ids"][:2])
        created = (await api.events.wait(api.tenant_id, ActionChanged))[0]["data"]
        assert created["change"] == "created" and created["actor"]["id"] == "u-col"
        assert (await api.events.wait(api.tenant_id, ItemsDetached))[0]["data"]["action_id"] == action["action_id"]
        entry = last(await api.ok("GET", f"{case['url']}/history"))
        assert entry["kind"] == "created" and entry["actor"]["id"] == "u-col" and entry["client_level"]

    async def test_from_the_agenda_without_items_then_listed_per_client_owner_and_date(self, api: Api) -> None:
        await seed_people(api)
        await seed_client(api, items=0)
        await seed_client(api, "C2", items=0)
        for client_id, day, owner in (("C1", "2026-11-25", "u-col"), ("C2", "2026-12-01", "u-col"),
                                      ("C1", "2026-12-15", "u-sales")):
            await api.ok("POST", "/actions", 201, json={"client_id": client_id, "type": "task", "name": "Check",
                                                        "scheduled_for": day, "owner_id": owner})
        by_client = await api.ok("GET", "/actions?client_id=C1")
        assert [a["scheduled_for"] for a in by_client] == ["2026-11-25", "2026-12-15"]
        assert by_client[0]["item_count"] == 0 and "item_ids" not in by_client[0]
        by_owner = await api.ok("GET", "/actions?owner_id=u-col&from=2026-11-26&to=2026-12-31")
        assert [(a["client_id"], a["scheduled_for"]) for a in by_owner] == [("C2", "2026-12-01")]

    async def test_from_a_template_or_a_copy(self, api: Api, case: dict) -> None:
        template = await api.ok("POST", "/admin/templates", 201, json={
            "name": "Reminder", "type": "email", "variants": {"fr": {"subject": "Relance #client_name",
                                                                     "body": "#items_list_selected"}}})
        email = await api.ok("POST", "/actions", 201, json={
            "client_id": "C1", "source": "template", "template_id": template["template_id"], "automatic": True,
            "item_ids": case["ids"][2:]})
        assert (email["type"], email["automatic"], email["name"]) == ("email", True, "Reminder")
        assert email["content"]["recipients"] == [{"email": "marie@c1.example", "name": "Marie Dupont"}]
        assert email["content"]["variants"]["fr"]["subject"] == "Relance #client_name"
        copy = await api.ok("POST", "/actions", 201, json={
            "client_id": "C1", "source": "copy_action", "copy_from_action_id": email["action_id"],
            "scheduled_for": "2026-12-24", "automatic": False})
        assert (copy["type"], copy["content"], copy["scheduled_for"]) == ("email", email["content"], "2026-12-24")
        created = await api.events.wait(api.tenant_id, ActionChanged, 3, change="created")
        automatic = next(e for e in created if e["data"]["action"]["action_id"] == email["action_id"])
        assert automatic["data"]["action"]["content"]["variants"]["fr"]["body"] == "#items_list_selected"

    @pytest.mark.fakes_suffice
    async def test_bad_creations_are_precise_4xx(self, api: Api, case: dict) -> None:
        for body, status, code in (
                ({"client_id": "C1", "type": "call", "scheduled_for": "2026-11-22"}, 422, "date_in_past"),
                ({"client_id": "C1", "type": "call", "owner_id": "ghost"}, 422, "unknown_owner"),
                ({"client_id": "NOPE", "type": "call"}, 422, "unknown_client"),
                ({"client_id": "C1", "type": "call", "item_ids": ["C1-3", "C1-3"]}, 422, "duplicate_items"),
                ({"client_id": "C1", "type": "call", "item_ids": ["C1-9"]}, 422, "items_rejected"),
                ({"client_id": "C1", "source": "template", "template_id": "nope"}, 422, "unknown_template"),
                ({"client_id": "C1", "source": "copy_action", "copy_from_action_id": "nope"}, 422, "unknown_action"),
                ({"client_id": "C1", "type": "call", "automatic": True}, 422, "not_automatable")):
            error = await api.fails("POST", "/actions", status, json=body)
            assert error.get("code") == code, (body, error)
        await api.fails("POST", "/actions", 422, json={"client_id": "C1"})  # a new action needs a type


class TestOperationsAndTheirHistory:
    async def test_rename_reschedule_reassign_each_recorded_and_published(self, api: Api, case: dict) -> None:
        url = case["url"]
        await api.ok("PUT", f"{url}/name", json={"name": "Price dispute — Sept/Oct"})
        await api.ok("PUT", f"{url}/schedule", json={"scheduled_for": "2026-12-07"})
        action = await api.ok("PUT", f"{url}/owner", json={"owner_id": "u-sales"})
        assert (action["name"], action["scheduled_for"], action["owner"]["user_id"], action["version"]) == (
            "Price dispute — Sept/Oct", "2026-12-07", "u-sales", 4)
        history = (await api.ok("GET", f"{url}/history"))[1:]
        assert [(e["kind"], e["before"], e["after"]) for e in history[:2]] == [
            ("renamed", {"name": "Price dispute — Sept"}, {"name": "Price dispute — Sept/Oct"}),
            ("rescheduled", {"scheduled_for": "2026-11-30"}, {"scheduled_for": "2026-12-07"})]
        assert history[2]["before"]["owner"]["user_id"] == "u-col" and history[2]["after"]["owner"]["user_id"] == \
            "u-sales"
        assert all(e["actor"]["id"] == "u-admin" and e["at"].startswith("2026-11-23") for e in history)
        events = await api.events.wait(api.tenant_id, ActionChanged, 4)
        assert [(e["data"]["change"], e["data"]["action"]["version"]) for e in events] == [
            ("created", 1), ("renamed", 2), ("rescheduled", 3), ("reassigned", 4)]

    @pytest.mark.fakes_suffice
    async def test_bad_operations_are_precise_4xx(self, api: Api, case: dict) -> None:
        url = case["url"]
        assert (await api.fails("PUT", f"{url}/schedule", 422, json={"scheduled_for": "2026-01-01"}))["code"] == \
            "date_in_past"
        assert (await api.fails("PUT", f"{url}/owner", 422, json={"owner_id": "ghost"}))["code"] == "unknown_owner"
        await api.fails("PUT", f"{url}/name", 422, json={"name": ""})
        await api.fails("PUT", "/actions/nope/name", 404, json={"name": "x"})
        await api.fails("POST", f"{url}/items", 422, json={"item_ids": []})
        await api.fails("POST", f"{url}/confirm", 422)

    async def test_items_added_and_removed(self, api: Api, case: dict) -> None:
        url, ids = case["url"], case["ids"]
        action = await api.ok("POST", f"{url}/items", json={"item_ids": [ids[2], ids[0]]})  # one already in it
        assert action["item_ids"] == ids
        action = await api.ok("POST", f"{url}/items/remove", json={"item_ids": [ids[0]]})
        assert action["item_ids"] == ids[1:]
        history = await api.ok("GET", f"{url}/history")
        assert [(e["kind"], e["before"], e["after"], e["data"]) for e in history[1:]] == [
            ("items_added", {"item_count": 2}, {"item_count": 3}, {"item_ids": [ids[2]]}),
            ("items_removed", {"item_count": 3}, {"item_count": 2},
             {"item_ids": [ids[0]], "reason": "removed_from_action"})]
        detached = await api.events.wait(api.tenant_id, ItemsDetached, 2)
        assert [i["item_id"] for i in detached[1]["data"]["items"]] == [ids[2]]
        assert (await api.events.wait(api.tenant_id, ItemsReattached))[0]["data"]["items"][0]["item_id"] == ids[0]
        changes = [e["data"]["change"] for e in await api.events.wait(api.tenant_id, ActionChanged, 3)]
        assert changes == ["created", "items_added", "items_removed"]

    async def test_the_status_of_its_items_is_updated_and_shows_in_its_history(self, api: Api, case: dict) -> None:
        url = case["url"]
        await api.ok("POST", f"{url}/item-status", json={"status_code": "credit_note_requested",
                                                         "comment": "sales agrees on 5 %"})
        entry = last(await api.ok("GET", f"{url}/history"))
        assert (entry["kind"], entry["text"], entry["data"]) == (
            "item_status_changed", "sales agrees on 5 %",
            {"item_ids": case["ids"][:2], "status_code": "credit_note_requested"})
        event = (await api.events.wait(api.tenant_id, ItemStatusChanged))[0]["data"]
        assert event["status_code"] == "credit_note_requested" and len(event["items"]) == 2
        item_history = await api.ok("GET", f"/items/{case['ids'][0]}/history")
        assert [(h["status_before"], h["status_after"], h["comment"]) for h in item_history] == [
            (None, "credit_note_requested", "sales agrees on 5 %")]
        await api.fails("POST", f"{url}/item-status", 422, json={"status_code": "nope"})
        await api.fails("POST", f"{url}/item-status", 422, json={})
        await api.fails("POST", f"{url}/item-status", 422, json={"item_ids": [case["ids"][2]]})

    async def test_content_made_automatic_then_a_to_be_confirmed_action_confirmed(self, api: Api, case: dict) -> None:
        email = await api.ok("POST", "/actions", 201, json={"client_id": "C1", "type": "email", "name": "Reminder",
                                                            "to_be_confirmed": True, "item_ids": case["ids"][2:]})
        url = f"/actions/{email['action_id']}"
        content = {"variants": {"fr": {"subject": "Relance", "body": "#items_amount_selected"}},
                   "recipients": [{"email": "ap@c1.example"}]}
        changed = await api.ok("PUT", f"{url}/content", json={"content": content, "automatic": True,
                                                              "to_be_confirmed": True})
        assert changed["automatic"] and changed["content"]["recipients"] == [{"email": "ap@c1.example",
                                                                              "name": None}]
        confirmed = await api.ok("POST", f"{url}/confirm")
        assert not confirmed["to_be_confirmed"] and confirmed["version"] == 3
        history = await api.ok("GET", f"{url}/history")
        assert [(e["kind"], e["after"].get("automatic"), e["after"].get("to_be_confirmed")) for e in history] == [
            ("created", None, None), ("content_changed", True, True), ("confirmed", None, False)]
        events = await api.events.wait(api.tenant_id, ActionChanged, 4)  # the case's follow-up, and these three
        mine = [e["data"] for e in events if e["data"]["action"]["action_id"] == email["action_id"]]
        assert [e["change"] for e in mine] == ["created", "content_changed", "confirmed"]
        assert mine[1]["action"]["content"]["variants"]["fr"]["body"] == "#items_amount_selected"
        await api.fails("PUT", f"{url}/content", 422, json={"content": {"variants": {
            "fr": {"subject": "x", "body": "#nope"}}}, "automatic": False})
        await api.fails("PUT", f"{case['url']}/content", 422, json={"automatic": True})  # a follow-up never runs

    async def test_comments_are_in_its_history(self, api: Api, case: dict) -> None:
        await api.ok("POST", f"{case['url']}/comments", 201, json={"text": "Called the buyer, awaiting PO"})
        entry = last(await api.ok("GET", f"{case['url']}/history"))
        assert (entry["kind"], entry["text"], entry["actor"]["kind"]) == ("comment_added",
                                                                          "Called the buyer, awaiting PO", "user")
        await api.fails("POST", f"{case['url']}/comments", 422, json={"text": "   "})


class TestDocuments:
    async def test_a_document_is_stored_listed_downloaded_and_in_the_history(self, api: Api, case: dict) -> None:
        upload = await api.ok("POST", f"{case['url']}/attachments", 201,
                              files={"file": ("../../proof of delivery.pdf", PDF, "application/pdf")})
        assert (upload["filename"], upload["size"], upload["content_type"]) == ("proof of delivery.pdf", len(PDF),
                                                                                "application/pdf")
        listed = await api.ok("GET", f"{case['url']}/attachments")
        assert [a["attachment_id"] for a in listed] == [upload["attachment_id"]]
        response = await api.http.get(f"/attachments/{upload['attachment_id']}")
        assert response.status_code == 200 and response.content == PDF
        assert response.headers["content-type"] == "application/pdf"
        entry = last(await api.ok("GET", f"{case['url']}/history"))
        assert entry["kind"] == "attachment_added" and entry["data"]["attachment_id"] == upload["attachment_id"]

    async def test_an_oversized_or_disguised_file_is_refused_and_nothing_is_kept(self, api: Api, case: dict) -> None:
        big = b"%PDF-" + b"0" * ATTACHMENT_LIMIT
        error = await api.fails("POST", f"{case['url']}/attachments", 413,
                                files={"file": ("big.pdf", big, "application/pdf")})
        assert error["limit"] == ATTACHMENT_LIMIT
        error = await api.fails("POST", f"{case['url']}/attachments", 415,
                                files={"file": ("invoice.pdf", b"MZ\x90\x00binary", "application/pdf")})
        assert "does not match" in error["detail"]
        await api.fails("POST", f"{case['url']}/attachments", 415,
                        files={"file": ("run.exe", b"MZ\x90\x00", "application/x-msdownload")})
        assert await api.ok("GET", f"{case['url']}/attachments") == []
        assert [e["kind"] for e in await api.ok("GET", f"{case['url']}/history")] == ["created"]
        await api.fails("GET", "/attachments/nope", 404)


class TestClosing:
    async def test_close_needs_a_resolution_note_then_releases_its_items_and_freezes_it(
            self, api: Api, case: dict) -> None:
        url = case["url"]
        assert (await api.fails("POST", f"{url}/close", 422, json={}))["code"] == "resolution_note_required"
        closed = await api.ok("POST", f"{url}/close", json={"resolution_note": "credit note 4711 issued"})
        assert (closed["state"], closed["resolution_note"]) == ("closed", "credit note 4711 issued")
        released = (await api.events.wait(api.tenant_id, ItemsReattached))[0]["data"]
        assert released["reason"] == "action_closed" and len(released["items"]) == 2
        assert (await api.events.wait(api.tenant_id, ActionChanged, change="closed"))[0]["data"]["action"][
            "resolution_note"] == "credit note 4711 issued"
        assert await api.ok("GET", "/clients/C1/items?held=true") == []
        for method, suffix, body in (("PUT", "/name", {"name": "x"}), ("POST", "/comments", {"text": "x"}),
                                     ("POST", "/close", {"resolution_note": "x"}), ("DELETE", "", None)):
            error = await api.fails(method, f"{url}{suffix}", 409, json=body)
            assert error["code"] == "action_not_open"
        await api.fails("POST", f"{url}/attachments", 409, files={"file": ("a.pdf", PDF, "application/pdf")})
        history = await api.ok("GET", "/clients/C1/history")
        assert [e["kind"] for e in history] == ["closed", "created"]  # no qualification: created by hand

    async def test_deleting_releases_its_items_with_that_reason(self, api: Api, case: dict) -> None:
        deleted = await api.ok("DELETE", f"{case['url']}?reason=opened+by+mistake")
        assert deleted["state"] == "deleted"
        released = (await api.events.wait(api.tenant_id, ItemsReattached))[0]["data"]
        assert released["reason"] == "action_deleted"
        entry = last(await api.ok("GET", f"{case['url']}/history"))
        assert entry["data"] == {"automatic": False, "reason": "opened by mistake"}


class TestEmailsFromAFollowUp:
    async def test_an_email_to_the_client_carries_its_text_and_the_whole_render_context(
            self, api: Api, case: dict) -> None:
        await api.ok("PUT", "/admin/settings", json={"company": {"name": "Acme Industries"}})
        answer = await api.ok("POST", f"{case['url']}/emails", 202, json={
            "subject": "Votre litige #client_name", "body": "Bonjour #contact_name, #items_list_selected"})
        request = (await api.events.wait(api.tenant_id, EmailRequested))[0]["data"]
        assert request["request_id"] == answer["request_id"] and request["purpose"] == "client"
        assert request["action_id"] == case["action"]["action_id"] and request["language"] == "fr"
        assert request["to"] == [{"email": "marie@c1.example", "name": "Marie Dupont"}]
        assert request["variants"] == {"fr": {"subject": "Votre litige #client_name",
                                              "body": "Bonjour #contact_name, #items_list_selected"}}
        context = request["context"]
        assert context["company"]["name"] == "Acme Industries" and context["client"]["name"] == "Client C1"
        assert context["collector"]["user_id"] == "u-col" and context["action"]["type"] == "follow_up"
        assert sorted(i["item_id"] for i in context["items"]) == case["ids"][:2] and context["link_url"] is None
        entry = last(await api.ok("GET", f"{case['url']}/history"))
        assert entry["kind"] == "email_requested" and entry["data"]["request_id"] == answer["request_id"]
        emails = await api.ok("GET", f"{case['url']}/emails")
        assert [(e["request_id"], e["state"]) for e in emails] == [(answer["request_id"], "requested")]
