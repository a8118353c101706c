"""The mailer's HTTP API on fakes: the documented hashtags, template check and preview for admins (a
sandbox escape is refused with a clear 422), and, as twins of `integration/test_api.py` (the same
bodies), the send ledger and the suppression list, each tenant seeing only its own, behind bearer
tokens."""

import httpx

from shared.templating import HASHTAGS
from tests.mailer.samples import context, email_request
from tests.mailer.unit.conftest import OfflineMailer

NNBSP, NBSP = "\u202f", "\u00a0"


class TestHashtagsAndTemplates:
    async def test_every_hashtag_is_documented_by_the_api(self, mailer: OfflineMailer) -> None:
        async with mailer.http("collector") as http:
            listed = (await http.get("/hashtags")).json()
        assert [entry["tag"] for entry in listed] == [f"#{tag.name}" for tag in HASHTAGS]
        assert all(entry["description"] and entry["example"] for entry in listed)
        assert next(e for e in listed if e["name"] == "link_url")["internal_only"] is True

    async def test_the_api_needs_a_valid_token(self, mailer: OfflineMailer) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mailer.app), base_url="http://mailer") as http:
            assert (await http.get("/hashtags")).status_code == 401
            bad = await http.get("/hashtags", headers={"Authorization": "Bearer not-a-token"})
            assert bad.status_code == 401

    async def test_preview_renders_the_clients_language_with_exact_amounts(self, mailer: OfflineMailer) -> None:
        from tests.mailer.samples import REMINDER

        body = {"variants": {k: v.model_dump() for k, v in REMINDER.items()}, "language": "fr",
                "context": context(language="fr").model_dump(mode="json")}
        async with mailer.http() as http:
            response = await http.post("/templates/preview", json=body)
        assert response.status_code == 200, response.text
        preview = response.json()
        assert preview["language"] == "fr"
        assert preview["subject"] == "Relance : 3 pièces pour Dupont & Fils"
        assert f"Vous nous devez 1{NNBSP}234,56{NBSP}€." in preview["text"]
        assert "Dupont &amp; Fils" not in preview["text"] and "<table" in preview["html"]

    async def test_preview_falls_back_to_the_tenant_default_language_and_a_sample_case(self, mailer: OfflineMailer) -> None:
        body = {"variants": {"en": {"subject": "Hello #client_name", "body": "#items_amount_selected"}},
                "language": "de", "default_language": "en"}
        async with mailer.http() as http:
            preview = (await http.post("/templates/preview", json=body)).json()
        assert (preview["language"], preview["subject"]) == ("en", "Hello Dupont SA")
        assert preview["text"] == "€1,234.56\n"

    async def test_a_sandbox_escape_is_refused_at_preview_with_a_clear_error(self, mailer: OfflineMailer) -> None:
        body = {"variants": {"en": {"subject": "Hi", "body": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}},
                "language": "en"}
        async with mailer.http() as http:
            response = await http.post("/templates/preview", json=body)
        assert response.status_code == 422
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json" and problem["status"] == 422
        messages = {(p["field"], p["message"]) for p in problem["errors"]}
        assert ("body.variants.en.body", "access to '__class__' is not allowed in a template") in messages
        assert ("body.variants.en.body", "calling '__subclasses__' is not allowed in a template") in messages
        assert problem["detail"].startswith("the template cannot be used: variants.en.body: ")

    async def test_check_lists_unknown_hashtags_and_internal_links_in_client_emails(self, mailer: OfflineMailer) -> None:
        body = {"variants": {"fr": {"subject": "#client_nom", "body": "#link_url"}}, "purpose": "client"}
        async with mailer.http("collector") as http:
            result = (await http.post("/templates/check", json=body)).json()
        assert result == {"valid": False, "problems": [
            {"field": "variants.fr.subject", "message": "unknown hashtag #client_nom"},
            {"field": "variants.fr.body", "message": "#link_url is only for internal interactive emails"},
        ]}

    async def test_only_admins_preview_and_bad_input_is_a_422(self, mailer: OfflineMailer) -> None:
        body = {"variants": {"en": {"subject": "s", "body": "b"}}, "language": "en"}
        async with mailer.http("collector") as http:
            assert (await http.post("/templates/preview", json=body)).status_code == 403
        async with mailer.http() as http:
            assert (await http.post("/templates/preview", json={"variants": {}, "language": "en"})).status_code == 422
            assert (await http.post("/templates/preview", json={**body, "language": "french"})).status_code == 422


class TestLedgerAndSuppressions:
    async def test_each_tenant_sees_only_its_own_sends(self, mailer: OfflineMailer) -> None:
        await mailer.publish([email_request(101, to="api@dupont.example", action_id="a-api")])
        await mailer.reports("req-101")
        async with mailer.http("collector") as http:
            [send] = (await http.get("/sends", params={"action_id": "a-api"})).json()
            assert (send["state"], send["recipients"]) == ("sent", ["api@dupont.example"])
            assert [entry["state"] for entry in send["history"]] == ["pending", "sent"]
            assert (await http.get(f"/sends/{send['send_id']}")).json()["message_id"] == send["message_id"]
            assert (await http.post(f"/sends/{send['send_id']}/resend")).status_code == 409
        async with mailer.http("collector", tenant="globex") as http:
            assert (await http.get("/sends", params={"action_id": "a-api"})).json() == []
            assert (await http.get(f"/sends/{send['send_id']}")).status_code == 404
            assert (await http.post(f"/sends/{send['send_id']}/resend")).status_code == 404

    async def test_the_suppression_list_is_managed_by_credit_managers_per_tenant(self, mailer: OfflineMailer) -> None:
        entry = {"email": "Hard.Bounce@Dupont.example", "reason": "550 mailbox unavailable"}
        async with mailer.http("collector") as http:
            assert (await http.post("/suppressions", json=entry)).status_code == 403
        async with mailer.http("credit_manager") as http:
            assert (await http.post("/suppressions", json={**entry, "email": "not an address"})).status_code == 422
            created = await http.post("/suppressions", json=entry)
            assert created.status_code == 201
            assert created.json()["email"] == "hard.bounce@dupont.example"
            listed = (await http.get("/suppressions")).json()
            assert "hard.bounce@dupont.example" in [item["email"] for item in listed]
        async with mailer.http("credit_manager", tenant="globex") as http:
            assert "hard.bounce@dupont.example" not in [i["email"] for i in (await http.get("/suppressions")).json()]
            assert (await http.delete("/suppressions/hard.bounce@dupont.example")).status_code == 404
        async with mailer.http("credit_manager") as http:
            assert (await http.delete("/suppressions/HARD.bounce@dupont.example")).status_code == 204
            assert (await http.delete("/suppressions/hard.bounce@dupont.example")).status_code == 404
