"""Internal interactive emails: the link a colleague receives opens the case; what it lets them do lands in the
follow-up's history under their address; and every attack on it (the table in docs/interactive-emails.md) is
refused with a clear page and a 4xx, showing no data and changing nothing."""

from datetime import datetime, timedelta

from shared.contracts.email import EmailRequested
from shared.links import verify_reply_token
from tests.followups.conftest import ATTACHMENT_LIMIT, TODAY
from tests.followups.helpers import INBOUND, LINK_POSTS_PER_MINUTE, Api, seed_client, seed_people
from tests.followups.links import (
    KEYS,
    PDF,
    Case,
    Visitor,
    flip_last_char,
    grant_of,
    open_case,
    short_signed,
    signed,
    tamper_payload,
    token_of,
)

CLIENT_NAME = "Client C1"  # shown on the page: a refused link must never show it


def refused_without_data(response, status: int) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert CLIENT_NAME not in response.text and "INV-C1" not in response.text
    assert response.headers["referrer-policy"] == "no-referrer"


async def kinds(case: Case) -> list[str]:
    return [entry["kind"] for entry in await case.history()]


class TestTheLinkInTheEmail:
    async def test_each_colleague_gets_a_link_and_a_reply_address_of_their_own(self, api: Api) -> None:
        case = await open_case(api)
        request = case.request
        assert request["purpose"] == "internal_interactive" and request["to"] == [{"email": "u-sales@acme.example",
                                                                                   "name": None}]
        path = request["context"]["link_url"].removeprefix(api.service.base_url)
        assert path.startswith(f"/l/k1.{case.link['link_id']}.") and len(path) < 60
        local, _, domain = request["reply_to"].partition("@")
        assert domain == INBOUND and local.startswith("reply+")
        reply = verify_reply_token(local.removeprefix("reply+"), KEYS, now=TODAY)
        assert (reply.tenant_id, reply.link_id) == (api.tenant_id, case.link["link_id"])
        assert reply.sent_by("U-Sales@acme.example") and not reply.sent_by("someone@acme.example")
        assert case.link["operations"] == ["comment", "upload", "view"] and case.link["revoked"] is False
        assert case.link["expires_at"].startswith((TODAY + timedelta(days=30)).date().isoformat())
        assert request["variants"]["fr"]["body"] == "Could you check this case? #link_url"

        two = await api.ok("POST", f"/actions/{case.action_id}/emails", 202, json={
            "purpose": "internal_interactive", "to": [{"email": "u-col@acme.example"}, {"email": "legal@acme.example"}],
            "subject": "Avis ?", "body": "Sans le hashtag", "link": {"statuses": ["dispute_resolved"]}})
        requests = await api.events.wait(api.tenant_id, EmailRequested, 3)
        mine = {r["data"]["to"][0]["email"]: r["data"] for r in requests if r["data"]["request_id"] in two["request_ids"]}
        assert set(mine) == {"u-col@acme.example", "legal@acme.example"}
        assert mine["u-col@acme.example"]["context"]["link_url"] != mine["legal@acme.example"]["context"]["link_url"]
        assert mine["legal@acme.example"]["variants"]["fr"]["body"] == "Sans le hashtag\n\n#link_url"
        links = await api.ok("GET", f"/actions/{case.action_id}/links")
        assert sorted(link["recipient"] for link in links) == ["legal@acme.example", "u-col@acme.example",
                                                               "u-sales@acme.example"]
        assert next(link for link in links if link["recipient"] == "legal@acme.example")["operations"] == [
            "comment", "set_status", "upload", "view"]

    async def test_customer_emails_carry_no_link_no_reply_token_and_no_internal_comment(self, api: Api) -> None:
        await seed_people(api)
        await api.ok("PUT", "/admin/settings", json={"internal_domains": ["acme.example"]})
        ids = await seed_client(api, items=2)
        secret = "internal: sales promised this credit note without approval"
        result = await api.ok("POST", "/wizard/change-status", json={
            "client_id": "C1", "item_ids": ids, "status_code": "credit_note_requested", "comment": secret,
            "client_email": {"subject": "Votre demande", "body": "Bonjour #contact_name, #items_list_selected"},
            "internal_email": {"to": [{"email": "u-sales@acme.example"}], "subject": "Avoir ?", "body": "#link_url"},
            "next_action": {"kind": "create_action", "source": "status_model", "owner_id": "u-col"}})
        requests = {e["data"]["purpose"]: e for e in await api.events.wait(api.tenant_id, EmailRequested, 2)}
        client, internal = requests["client"], requests["internal_interactive"]
        raw = str(client)
        assert client["data"]["context"]["link_url"] is None and "/l/" not in raw and "reply+" not in raw
        assert secret not in raw and client["data"]["reply_to"] == f"u-admin@{api.tenant_id}.example"
        assert internal["data"]["context"]["link_url"] and internal["data"]["reply_to"].startswith("reply+")
        assert result["action"]["action_id"] == internal["data"]["action_id"]

        refused = [({"client_email": {"subject": "s", "body": "b", "link": {}}}, "link_for_client"),
                   ({"internal_email": {"to": [{"email": "u-sales@acme.example"}], "cc": [{"email": "u-col@acme.example"}],
                                        "subject": "s", "body": "b"}}, "cc_on_interactive"),
                   ({"internal_email": {"to": [{"email": "marie@c1.example"}], "subject": "s", "body": "b"}},
                    "not_internal"),
                   ({"internal_email": {"to": [{"email": "u-sales@acme.example"}], "subject": "s", "body": "b",
                                        "link": {"statuses": ["nope"]}}}, "unknown_status"),
                   ({"internal_email": {"to": [{"email": "u-sales@acme.example"}], "subject": "s", "body": "b",
                                        "link": {"operations": ["view", "set_status"]}}}, "link_statuses_required"),
                   ({"internal_email": {"to": [{"email": "u-sales@acme.example"}], "subject": "s", "body": "b",
                                        "link": {"expires_in_days": 200}}}, "link_too_long")]
        for change, code in refused:
            body = {"client_id": "C1", "item_ids": ids[:1], "comment": "x", "next_action": {"kind": "scenario"},
                    **change}
            assert (await api.fails("POST", "/wizard/change-status", 422, json=body))["code"] == code, code

    async def test_documents_go_out_by_signed_urls_the_mailer_can_fetch(self, api: Api) -> None:
        case = await open_case(api)
        uploaded = await api.ok("POST", f"/actions/{case.action_id}/attachments", 201,
                                files={"file": ("avoir.pdf", PDF, "application/pdf")})
        answer = await api.ok("POST", f"/actions/{case.action_id}/emails", 202, json={
            "subject": "Votre avoir", "body": "Ci-joint.", "attachment_ids": [uploaded["attachment_id"]]})
        request = (await api.events.wait(api.tenant_id, EmailRequested, request_id=answer["request_id"]))[0]["data"]
        ref = request["attachments"][0]
        assert (ref["filename"], ref["content_type"], ref["size"]) == ("avoir.pdf", "application/pdf", len(PDF))
        async with Visitor(api.service) as mailer:
            fetched = await mailer.get(ref["url"])
            assert fetched.status_code == 200 and fetched.content == PDF
            assert (await mailer.get(flip_last_char(ref["url"]))).status_code == 403
            assert (await mailer.get(ref["url"].replace("/d/d1.", "/d/d2."))).status_code == 403
        error = await api.fails("POST", f"/actions/{case.action_id}/emails", 422, json={
            "subject": "x", "body": "y", "attachment_ids": ["not-one-of-its-documents"]})
        assert error["code"] == "unknown_attachment"


class TestThePage:
    async def test_the_page_shows_the_case_in_the_recipients_language_with_safe_headers(self, api: Api) -> None:
        case = await open_case(api, link={"statuses": ["dispute_resolved", "legal_collection"]})
        await api.ok("POST", f"/actions/{case.action_id}/item-status", json={
            "status_code": "price_dispute", "comment": "Prix convenu : 90 €", "item_ids": case.item_ids[:1]})
        async with Visitor(api.service) as visitor:
            page = await visitor.get(case.path)
        assert page.status_code == 200
        html = page.text
        for shown in (CLIENT_NAME, "INV-C1-1", "INV-C1-2", "100,00", "24 oct. 2026", ">30<", "Litige prix",
                      "Prix convenu : 90 €", "Price dispute — Sept", "Jean Martin", "Ajouter un commentaire",
                      "Joindre un document", "Changer le statut", "Litige résolu", 'lang="fr"'):
            assert shown in html, shown
        assert "<script" not in html
        headers = page.headers
        assert headers["referrer-policy"] == "no-referrer" and headers["cache-control"] == "no-store"
        assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src" not in headers["content-security-policy"]  # default-src 'none': no script at all

    async def test_opening_the_link_changes_nothing_whatever_scans_it(self, api: Api) -> None:
        case = await open_case(api)
        before = (await kinds(case), len(await api.events.settle(api.tenant_id, quiet_s=0.5)))
        async with Visitor(api.service) as scanner:  # Safe Links, Proofpoint… fetch before people do
            for _ in range(3):
                assert (await scanner.get(case.path)).status_code == 200
            assert (await scanner.http.head(case.path)).status_code == 200
            assert (await scanner.get(case.path + "?done=comment")).status_code == 200
            for action in ("comment", "upload", "status"):
                assert (await scanner.get(f"{case.path}/{action}")).status_code == 405
        assert (await kinds(case), len(await api.events.settle(api.tenant_id, quiet_s=0.5))) == before
        assert (await api.ok("GET", f"/actions/{case.action_id}/links"))[0]["revoked"] is False


class TestWhatTheColleagueDoes:
    async def test_comment_upload_and_a_confirmed_status_change_are_attributed_to_the_colleague(
            self, api: Api) -> None:
        case = await open_case(api, link={"statuses": ["dispute_resolved"]})
        async with Visitor(api.service) as colleague:
            forms = await colleague.forms(case.path)
            done = await colleague.post(f"{case.path}/comment", {"form_token": forms["comment"],
                                                                 "text": "Avoir validé par la direction"})
            assert done.status_code == 303 and done.headers["location"].endswith("?done=comment#activity")
            forms = await colleague.forms(case.path)
            done = await colleague.post(f"{case.path}/upload", {"form_token": forms["upload"]},
                                        files={"file": ("../../etc/accord.pdf", PDF, "application/pdf")})
            assert done.status_code == 303, done.text
            forms = await colleague.forms(case.path)
            ask = await colleague.post(f"{case.path}/status", {"form_token": forms["status"],
                                                               "status": "dispute_resolved",
                                                               "item_id": case.item_ids[:1]})
            assert ask.status_code == 200 and 'name="confirm" value="yes"' in ask.text and "INV-C1-1" in ask.text
            assert "item_status_changed" not in await kinds(case)  # asking is not changing
            confirm = {"form_token": _token_in(ask.text), "confirm": "yes", "status": "dispute_resolved",
                       "item_id": case.item_ids[:1], "comment": ""}
            assert (await colleague.post(f"{case.path}/status", confirm)).status_code == 303
            page = (await colleague.get(case.path)).text
        history = await case.history()
        mine = [e for e in history if e["actor"]["kind"] == "colleague"]
        assert [e["kind"] for e in mine] == ["comment_added", "attachment_added", "item_status_changed",
                                             "items_removed"]
        assert {e["actor"]["email"] for e in mine} == {"u-sales@acme.example"}
        assert mine[0]["text"] == "Avoir validé par la direction" and mine[1]["data"]["filename"] == "accord.pdf"
        assert mine[2]["data"] == {"item_ids": case.item_ids[:1], "status_code": "dispute_resolved"}
        assert "accord.pdf" in page and "Avoir validé par la direction" in page and "Litige résolu" in page
        resolved, kept = case.item_ids
        assert "INV-C1-1" in page and f'value="{resolved}"' not in page and f'value="{kept}"' in page  # released
        documents = await api.ok("GET", f"/actions/{case.action_id}/attachments")
        assert [(d["filename"], d["uploaded_by"]["email"]) for d in documents] == [("accord.pdf",
                                                                                     "u-sales@acme.example")]

    async def test_a_link_on_a_selection_without_action_comments_on_its_items(self, api: Api) -> None:
        await seed_people(api)
        await api.ok("PUT", "/admin/settings", json={"internal_domains": ["acme.example"]})
        ids = await seed_client(api, items=3)
        await api.ok("POST", "/wizard/change-status", json={
            "client_id": "C1", "item_ids": ids[:2], "comment": "Client says the goods never arrived",
            "internal_email": {"to": [{"email": "u-sales@acme.example"}], "subject": "Livraison ?", "body": "#link_url"},
            "next_action": {"kind": "scenario"}})
        request = (await api.events.wait(api.tenant_id, EmailRequested))[0]["data"]
        assert request["action_id"] is None
        path = request["context"]["link_url"].removeprefix(api.service.base_url)
        async with Visitor(api.service) as colleague:
            page = await colleague.get(path)
            assert "INV-C1-1" in page.text and "INV-C1-2" in page.text and "INV-C1-3" not in page.text
            forms = await colleague.forms(path)
            assert set(forms) == {"comment"}  # no action: nothing to attach a document to, no status granted
            done = await colleague.post(f"{path}/comment", {"form_token": forms["comment"], "text": "Delivered on 3/10"})
            assert done.status_code == 303
        history = await api.ok("GET", "/clients/C1/history")
        assert (history[0]["kind"], history[0]["actor"]["email"], history[0]["text"]) == (
            "items_qualified", "u-sales@acme.example", "Delivered on 3/10")
        assert history[0]["data"]["item_ids"] == ids[:2]
        item = await api.ok("GET", f"/items/{ids[0]}/history")
        assert [h["comment"] for h in item] == ["Client says the goods never arrived", "Delivered on 3/10"]

    async def test_a_comment_with_html_and_script_is_shown_escaped(self, api: Api) -> None:
        case = await open_case(api)
        attack = '<script>alert(1)</script><img src=x onerror="alert(2)"> & </textarea>'
        async with Visitor(api.service) as colleague:
            forms = await colleague.forms(case.path)
            await colleague.post(f"{case.path}/comment", {"form_token": forms["comment"], "text": attack})
            html = (await colleague.get(case.path)).text
        assert attack not in html and "<script>" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&#34;alert(2)&#34;&gt; &amp; " in html

    async def test_a_closed_case_is_read_only(self, api: Api) -> None:
        case = await open_case(api)
        async with Visitor(api.service) as colleague:
            forms = await colleague.forms(case.path)
            await api.ok("POST", f"/actions/{case.action_id}/close", json={"resolution_note": "credit note issued"})
            page = await colleague.get(case.path)
            assert page.status_code == 200 and 'id="read-only"' in page.text and "<form" not in page.text
            late = await colleague.post(f"{case.path}/comment", {"form_token": forms["comment"], "text": "trop tard"})
        assert late.status_code == 409 and "clos" in late.text
        assert "comment_added" not in await kinds(case)


class TestAttacks:
    """Each row of the table in docs/interactive-emails.md."""

    async def test_forged_signature(self, api: Api) -> None:
        case = await open_case(api)
        async with Visitor(api.service) as attacker:
            refused_without_data(await attacker.get(f"/l/{flip_last_char(token_of(case))}"), 403)
            refused_without_data(await attacker.get("/l/not-a-link"), 400)

    async def test_a_link_is_short_and_opaque_and_one_sent_before_short_links_still_opens(self, api: Api) -> None:
        case = await open_case(api)
        assert len(case.path) < 60
        assert case.link["recipient"].split("@")[0] not in case.path and api.tenant_id not in case.path
        first_format = signed(**grant_of(case, expires_at=datetime.fromisoformat(case.link["expires_at"])))
        async with Visitor(api.service) as colleague:
            for path in (case.path, f"/l/{first_format}"):
                page = await colleague.get(path)
                assert page.status_code == 200 and case.link["recipient"] in page.text, path

    async def test_altered_scope(self, api: Api) -> None:
        case = await open_case(api)
        other = await api.ok("POST", "/actions", 201, json={"client_id": "C1", "type": "task", "name": "Autre"})
        # only a first-format link carries a scope to alter; a short one carries none
        token = signed(**grant_of(case, expires_at=TODAY + timedelta(days=1)))
        async with Visitor(api.service) as attacker:
            for change in ({"action_id": other["action_id"]}, {"operations": ["view", "set_status"]},
                           {"statuses": ["dispute_resolved"]}, {"recipient": "boss@acme.example"},
                           {"expires_at": "2030-01-01T00:00:00Z"}):
                refused_without_data(await attacker.get(f"/l/{tamper_payload(token, **change)}"), 403)

    async def test_expired(self, api: Api) -> None:
        case = await open_case(api)
        expired = signed(**grant_of(case, expires_at=TODAY - timedelta(minutes=1)))
        async with Visitor(api.service) as colleague:
            refused_without_data(await colleague.get(f"/l/{expired}"), 410)
            assert "expiré" in (await colleague.get(f"/l/{expired}", headers={"accept-language": "fr"})).text

    async def test_a_short_link_expires_when_its_record_says(self, api: Api) -> None:
        case = await open_case(api)
        expires_at = datetime.fromisoformat(case.link["expires_at"])
        clock, started = api.service.clock, api.service.clock.now()
        async with Visitor(api.service) as colleague:
            try:
                clock.set(expires_at - timedelta(seconds=1))
                assert (await colleague.get(case.path)).status_code == 200
                clock.set(expires_at)
                refused_without_data(await colleague.get(case.path), 410)
            finally:
                clock.set(started)

    async def test_revoked_one_link_then_every_link_of_a_recipient(self, api: Api) -> None:
        case = await open_case(api)
        async with Visitor(api.service) as colleague:
            forms = await colleague.forms(case.path)
            revoked = await api.ok("POST", f"/links/{case.link['link_id']}/revoke", json={"reason": "sent by mistake"})
            assert revoked["revoked"] and revoked["revoke_reason"] == "sent by mistake"
            refused_without_data(await colleague.get(case.path), 410)
            refused_without_data(await colleague.post(f"{case.path}/comment", {"form_token": forms["comment"],
                                                                               "text": "x"}), 410)
            second = await api.ok("POST", f"/actions/{case.action_id}/emails", 202, json={
                "purpose": "internal_interactive", "to": [{"email": "u-sales@acme.example"}], "subject": "s",
                "body": "b"})
            url = (await api.events.wait(api.tenant_id, EmailRequested, request_id=second["request_id"])
                   )[0]["data"]["context"]["link_url"]
            assert (await colleague.get(url)).status_code == 200
            async with api.as_user("u-col", "collector") as collector:
                await collector.fails("POST", "/admin/links/revoke", 403, json={"recipient": "u-sales@acme.example"})
            answer = await api.ok("POST", "/admin/links/revoke", json={"recipient": "U-Sales@acme.example"})
            assert answer == {"recipient": "u-sales@acme.example", "revoked": 1}
            refused_without_data(await colleague.get(url), 410)
        assert "comment_added" not in await kinds(case)

    async def test_cross_tenant(self, api: Api, token_for) -> None:  # type: ignore[no-untyped-def]
        case = await open_case(api)
        async with Api(api.service, "tenant-other-" + api.tenant_id[-6:], token_for, role="admin") as other:
            other_case = await open_case(other)
        async with Visitor(api.service) as attacker:
            # this tenant's signature on a payload naming the other tenant: the other tenant's key does not match
            first_format = signed(**grant_of(case, expires_at=TODAY + timedelta(days=1)))
            moved = tamper_payload(first_format, tenant_id=other.tenant_id, action_id=other_case.action_id)
            refused_without_data(await attacker.get(f"/l/{moved}"), 403)
            # a short link of this link's id signed for the other tenant: the link is this tenant's, the MAC not
            short = short_signed(**grant_of(case, expires_at=TODAY + timedelta(days=1), tenant_id=other.tenant_id))
            refused_without_data(await attacker.get(f"/l/{short}"), 403)
            # a genuinely signed link of the other tenant naming this tenant's link and action: no such record there
            crafted = signed(**grant_of(case, expires_at=TODAY + timedelta(days=1), tenant_id=other.tenant_id))
            refused_without_data(await attacker.get(f"/l/{crafted}"), 404)
            # the tenant in a URL parameter is ignored: the page is the link's tenant's
            page = await attacker.get(f"{other_case.path}?tenant_id={api.tenant_id}")
            assert page.status_code == 200 and other_case.link["recipient"] in page.text

    async def test_csrf_missing_or_bound_to_another_link(self, api: Api) -> None:
        case = await open_case(api)
        second = await open_case(api, client_id="C2")
        async with Visitor(api.service) as attacker:
            others = await attacker.forms(second.path)
            for data in ({"text": "no token"}, {"text": "empty", "form_token": ""},
                         {"text": "other link's token", "form_token": others["comment"]},
                         {"text": "forged", "form_token": flip_last_char(others["comment"])}):
                refused_without_data(await attacker.post(f"{case.path}/comment", data), 403)
        assert "comment_added" not in await kinds(case)

    async def test_replayed_post(self, api: Api) -> None:
        case = await open_case(api)
        async with Visitor(api.service) as colleague:
            forms = await colleague.forms(case.path)
            form = {"form_token": forms["comment"], "text": "une seule fois"}
            assert (await colleague.post(f"{case.path}/comment", form)).status_code == 303
            again = await colleague.post(f"{case.path}/comment", form)
        assert again.status_code == 409 and "déjà été envoyé" in again.text
        assert (await kinds(case)).count("comment_added") == 1

    async def test_oversized_upload_and_a_file_that_is_not_what_it_claims(self, api: Api) -> None:
        case = await open_case(api)
        async with Visitor(api.service) as colleague:
            forms = await colleague.forms(case.path)
            big = PDF + b"0" * ATTACHMENT_LIMIT
            too_large = await colleague.post(f"{case.path}/upload", {"form_token": forms["upload"]},
                                             files={"file": ("big.pdf", big, "application/pdf")})
            assert too_large.status_code == 413 and "volumineux" in too_large.text
            forms = await colleague.forms(case.path)
            fake = await colleague.post(f"{case.path}/upload", {"form_token": forms["upload"]},
                                        files={"file": ("invoice.pdf", b"MZ\x90\x00 an executable", "application/pdf")})
            assert fake.status_code == 415
        assert await api.ok("GET", f"/actions/{case.action_id}/attachments") == []

    async def test_path_in_filename(self, api: Api) -> None:
        case = await open_case(api)
        async with Visitor(api.service) as colleague:
            for name in ("../../../etc/passwd.pdf", "..\\..\\windows\\system.ini.pdf", "/srv/.hidden.pdf"):
                forms = await colleague.forms(case.path)
                response = await colleague.post(f"{case.path}/upload", {"form_token": forms["upload"]},
                                                files={"file": (name, PDF, "application/pdf")})
                assert response.status_code == 303, response.text
            documents = await api.ok("GET", f"/actions/{case.action_id}/attachments")
            assert [d["filename"] for d in documents] == ["passwd.pdf", "system.ini.pdf", "hidden.pdf"]
            download = await colleague.get(f"{case.path}/attachments/{documents[0]['attachment_id']}")
            assert download.status_code == 200 and download.content == PDF
            assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''passwd.pdf"

    async def test_status_outside_what_the_link_grants(self, api: Api) -> None:
        case = await open_case(api, link={"statuses": ["dispute_resolved"]})
        plain = await open_case(api, client_id="C2")  # no set_status
        async with Visitor(api.service) as colleague:
            forms = await colleague.forms(case.path)
            refused_without_data(await colleague.post(f"{case.path}/status", {
                "form_token": forms["status"], "status": "legal_collection", "item_id": case.item_ids[:1]}), 403)
            forms = await colleague.forms(case.path)
            outside = await colleague.post(f"{case.path}/status", {
                "form_token": forms["status"], "status": "dispute_resolved", "item_id": ["C2-1"]})
            refused_without_data(outside, 403)
            no_form = await colleague.forms(plain.path)
            assert "status" not in no_form
            refused_without_data(await colleague.post(f"{plain.path}/status", {  # a comment form's token
                "form_token": no_form["comment"], "status": "dispute_resolved", "item_id": plain.item_ids}), 403)
        assert "item_status_changed" not in await kinds(case) + await kinds(plain)

    async def test_rate_limit_per_link(self, api: Api) -> None:
        case = await open_case(api)
        async with Visitor(api.service) as attacker:
            answers = [(await attacker.post(f"{case.path}/comment", {"form_token": "f1.k1.0.x.y", "text": "x"}))
                       for _ in range(LINK_POSTS_PER_MINUTE + 2)]
            assert [a.status_code for a in answers] == [403] * LINK_POSTS_PER_MINUTE + [429, 429]
            assert answers[-1].headers["retry-after"] == "60"
            forms = await attacker.forms(case.path)  # reading stays possible
            limited = await attacker.post(f"{case.path}/comment", {"form_token": forms["comment"], "text": "x"})
        assert limited.status_code == 429 and "comment_added" not in await kinds(case)


def _token_in(html: str) -> str:
    marker = 'name="form_token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]
