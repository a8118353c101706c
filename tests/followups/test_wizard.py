"""The change-status wizard: three steps in one request, all-or-nothing; emails as requests for the mailer
with everything it needs; precise 4xx for bad input; large selections in batches of at most 500 per event."""

import pytest

from shared.contracts.actions import ActionChanged
from shared.contracts.email import EmailRequested
from shared.contracts.receivables import MAX_ITEMS_PER_EVENT, ItemsDetached, ItemStatusChanged
from tests.followups.helpers import Api, seed_client, seed_people


async def internal_setup(api: Api) -> str:
    await api.ok("PUT", "/admin/settings", json={"company": {"name": "Acme Industries"},
                                                 "internal_domains": ["acme.example"]})
    template = await api.ok("POST", "/admin/templates", 201, json={
        "name": "Dispute acknowledged", "type": "email", "variants": {
            "fr": {"subject": "Litige enregistré — #client_name", "body": "Montant : #items_amount_selected"},
            "en": {"subject": "Dispute logged — #client_name", "body": "Amount: #items_amount_selected"}}})
    return template["template_id"]


class TestTheThreeSteps:
    async def test_status_comment_two_emails_and_a_follow_up_in_one_request(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=3)
        template_id = await internal_setup(api)
        result = await api.ok("POST", "/wizard/change-status", json={
            "client_id": "C1", "item_ids": ids[:2], "status_code": "credit_note_requested",
            "comment": "5 % discount not applied",
            "client_email": {"template_id": template_id},
            "internal_email": {"to": [{"email": "sales.manager@acme.example", "name": "Sam"}],
                               "subject": "Credit note for #client_name?", "body": "Please check: #link_url"},
            "next_action": {"kind": "create_action", "source": "status_model", "name": "CN request — Sept",
                            "scheduled_for": "2026-12-01", "owner_id": "u-sales"}})
        action = result["action"]
        assert (action["name"], action["owner"]["user_id"], action["item_count"]) == ("CN request — Sept",
                                                                                      "u-sales", 2)
        assert len(result["email_request_ids"]) == 2

        requests = {e["data"]["purpose"]: e["data"] for e in await api.events.wait(api.tenant_id, EmailRequested, 2)}
        client_email, internal = requests["client"], requests["internal_interactive"]
        assert client_email["to"] == [{"email": "marie@c1.example", "name": "Marie Dupont"}]
        assert set(client_email["variants"]) == {"fr", "en"} and client_email["language"] == "fr"
        assert client_email["template_id"] == template_id and client_email["action_id"] == action["action_id"]
        context = client_email["context"]
        assert context["contact"]["email"] == "marie@c1.example" and context["as_of"] == "2026-11-23"
        assert [(i["item_id"], i["status_label"]) for i in context["items"]] == [
            (ids[0], "Avoir demandé"), (ids[1], "Avoir demandé")]
        assert context["action"]["name"] == "CN request — Sept" and context["action"]["owner"]["user_id"] == "u-sales"
        assert internal["to"] == [{"email": "sales.manager@acme.example", "name": "Sam"}]
        assert internal["variants"]["en"]["body"] == "Please check: #link_url" and internal["context"]["contact"] is None
        assert {e["data"]["request_id"] for e in api.events.of(api.tenant_id, EmailRequested)} == set(
            result["email_request_ids"])

        history = await api.ok("GET", f"/actions/{action['action_id']}/history")
        assert [e["kind"] for e in history] == ["created", "email_requested", "email_requested"]
        await api.events.wait(api.tenant_id, ItemStatusChanged)
        await api.events.wait(api.tenant_id, ItemsDetached)
        await api.events.wait(api.tenant_id, ActionChanged)

    async def test_a_comment_alone_with_an_email_and_no_action(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=1)
        result = await api.ok("POST", "/wizard/change-status", json={
            "client_id": "C1", "item_ids": ids, "comment": "client says payment is on its way",
            "client_email": {"subject": "Merci", "body": "Bonjour #contact_name"}})
        assert result["action"] is None and result["next_action"] == "scenario"
        event = (await api.events.wait(api.tenant_id, ItemStatusChanged))[0]["data"]
        assert event["status_code"] is None and event["comment"] == "client says payment is on its way"
        assert (await api.events.wait(api.tenant_id, EmailRequested))[0]["data"]["action_id"] is None
        history = await api.ok("GET", "/clients/C1/history")
        assert [e["kind"] for e in history] == ["email_requested", "items_qualified"]  # newest first
        assert (history[1]["text"], history[1]["data"]["item_ids"]) == ("client says payment is on its way", ids)

    async def test_adding_to_an_existing_follow_up(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=3)
        first = (await api.ok("POST", "/wizard/change-status", json={
            "client_id": "C1", "item_ids": ids[:1], "status_code": "price_dispute"}))["action"]
        result = await api.ok("POST", "/wizard/change-status", json={
            "client_id": "C1", "item_ids": ids[1:], "status_code": "price_dispute",
            "next_action": {"kind": "add_to_action", "action_id": first["action_id"]}})
        assert result["action"]["action_id"] == first["action_id"] and result["action"]["item_count"] == 3


class TestBadInputIsRefusedAndNothingIsWritten:
    @pytest.mark.fakes_suffice
    async def test_each_bad_input_gets_a_precise_4xx(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=2)
        await seed_client(api, "C2", items=1)
        await api.ok("PUT", "/items/C1-2", json={"client_id": "C1", "number": "INV-C1-2", "amount": "100.00",
                                                 "open_amount": "0", "issue_date": "2026-09-01",
                                                 "due_date": "2026-10-24", "currency": "EUR"})
        before = len(await api.events.settle(api.tenant_id, quiet_s=0.5))
        cases = [
            ({"item_ids": ["C1-1", "ghost"]}, 422, {"code": "items_rejected", "unknown": ["ghost"]}),
            ({"item_ids": ["C1-1", "C2-1"]}, 422, {"code": "items_rejected", "other_client": ["C2-1"]}),
            ({"item_ids": ["C1-2"]}, 422, {"code": "items_rejected", "closed": ["C1-2"]}),
            ({"status_code": "nope"}, 422, {"code": "unknown_status"}),
            ({"client_id": "NOPE"}, 422, {"code": "unknown_client"}),
            ({"next_action": {"kind": "create_action", "type": "call", "scheduled_for": "2026-11-01"}}, 422,
             {"code": "date_in_past"}),
            ({"next_action": {"kind": "add_to_action", "action_id": "nope"}}, 422, {"code": "unknown_action"}),
            ({"internal_email": {"to": [{"email": "buyer@dupont.example"}], "subject": "s", "body": "b"}}, 422,
             {"code": "not_internal"}),
            ({"client_email": {"template_id": "nope"}}, 422, {"code": "unknown_template"}),
            ({"client_email": {"subject": "s", "body": "#unknown_tag"}}, 422, {"code": "template_rejected"}),
        ]
        for change, status, expected in cases:
            body = {"client_id": "C1", "item_ids": ["C1-1"], "status_code": "quality_dispute", **change}
            error = await api.fails("POST", "/wizard/change-status", status, json=body)
            assert {key: error.get(key) for key in expected} == expected, (change, error)
        for malformed in ({"client_id": "C1", "item_ids": []}, {"client_id": "C1", "item_ids": ids + ids[:1]},
                          {"client_id": "C1", "item_ids": ids[:1], "next_action": {"kind": "teleport"}},
                          {"client_id": "C1", "item_ids": ids[:1], "client_email": {"template_id": "t",
                                                                                     "subject": "s"}},
                          {"client_id": "C1", "item_ids": ids[:1], "tenant_id": "other"},
                          {"client_id": "C1", "item_ids": ids[:1]}):
            await api.fails("POST", "/wizard/change-status", 422, json=malformed)
        assert len(await api.events.settle(api.tenant_id, quiet_s=0.5)) == before
        assert (await api.ok("GET", "/items/C1-1"))["version"] == 1

    @pytest.mark.fakes_suffice
    async def test_a_client_email_needs_someone_to_go_to(self, api: Api) -> None:
        await seed_people(api)
        await api.ok("PUT", "/clients/C5", json={"number": "C5", "name": "No contact", "language": "en",
                                                 "currency": "EUR"})
        await api.ok("PUT", "/items/C5-1", json={"client_id": "C5", "number": "1", "amount": "5", "open_amount": "5",
                                                 "issue_date": "2026-09-01", "due_date": "2026-10-01",
                                                 "currency": "EUR"})
        error = await api.fails("POST", "/wizard/change-status", 422, json={
            "client_id": "C5", "item_ids": ["C5-1"], "client_email": {"subject": "s", "body": "b"}})
        assert error["code"] == "recipients_required"

    @pytest.mark.fakes_suffice
    async def test_collectors_and_credit_managers_use_the_wizard(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=1)
        async with api.as_user("u-cm", "credit_manager") as manager:
            result = await manager.ok("POST", "/wizard/change-status", json={
                "client_id": "C1", "item_ids": ids, "status_code": "legal_collection"})
        assert result["action"]["owner"]["user_id"] == "u-col"  # the client's collector owns the case


class TestLargeSelections:
    async def test_all_open_items_of_a_client_in_batches_of_at_most_500_items_per_event(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=MAX_ITEMS_PER_EVENT + 120)
        result = await api.ok("POST", "/wizard/change-status", json={
            "client_id": "C1", "all_open_items": True, "status_code": "quantity_dispute"})
        assert result["item_count"] == len(ids)
        for event_type in (ItemStatusChanged, ItemsDetached):
            events = await api.events.wait(api.tenant_id, event_type, 2)
            assert sorted(len(e["data"]["items"]) for e in events) == [120, MAX_ITEMS_PER_EVENT]
            assert sorted(i["item_id"] for e in events for i in e["data"]["items"]) == sorted(ids)
        action = await api.ok("GET", f"/actions/{result['action']['action_id']}")
        assert len(action["item_ids"]) == len(ids)


class TestUnusualButValidInput:
    async def test_item_ids_with_dots_and_dollars_and_a_token_without_a_usable_email(
            self, api: Api, token_for: object) -> None:
        await seed_people(api)
        await seed_client(api, items=0)
        odd = ["INV.2026.001", "$ref", "a b/ç"]
        rows = [{"item_id": item_id, "client_id": "C1", "number": item_id, "issue_date": "2026-09-01",
                 "due_date": "2026-10-01", "amount": "10", "open_amount": "10", "currency": "EUR"} for item_id in odd]
        assert (await api.ok("POST", "/imports/items", json=rows))["created"] == 3
        odd_token = token_for(tenant_id=api.tenant_id, role="collector", user_id="u-col",  # type: ignore[operator]
                              email="not an address")
        result = await api.ok("POST", "/wizard/change-status", headers={"Authorization": f"Bearer {odd_token}"},
                              json={"client_id": "C1", "item_ids": odd, "status_code": "price_dispute",
                                    "comment": "odd ids", "client_email": {"subject": "s", "body": "b"}})
        assert result["item_count"] == 3
        history = await api.ok("GET", "/items/$ref/history")
        assert [(h["status_before"], h["status_after"], h["actor"]["email"]) for h in history] == [
            (None, "price_dispute", None)]
        request = (await api.events.wait(api.tenant_id, EmailRequested))[0]["data"]
        assert request["reply_to"] is None
