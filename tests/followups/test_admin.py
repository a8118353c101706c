"""Admin: a tenant's default statuses, status changes published with a version, templates checked at save,
users, settings, and who may do what."""

import pytest

from shared.contracts.receivables import ItemStatusDefined
from tests.followups.helpers import Api, seed_people


class TestItemStatuses:
    async def test_a_tenant_gets_the_default_statuses_on_its_first_request_and_they_are_published(
            self, api: Api) -> None:
        statuses = await api.ok("GET", "/statuses")
        assert len(statuses) == 9
        resolved = next(s for s in statuses if s["code"] == "dispute_resolved")
        assert resolved["category"] == "resolved" and not resolved["counts_as_dispute"]
        events = await api.events.wait(api.tenant_id, ItemStatusDefined, 9)
        assert {e["data"]["code"] for e in events} == {s["code"] for s in statuses}
        assert {e["_key"] for e in events} == {f"{api.tenant_id}:status:{s['code']}" for s in statuses}
        await api.ok("GET", "/statuses")  # a second request installs nothing more
        assert len(await api.events.settle(api.tenant_id, quiet_s=0.5)) == 9

    async def test_an_admin_changes_a_status_and_its_next_version_is_published(self, api: Api) -> None:
        await seed_people(api)
        body = {"labels": {"en": "Price dispute", "fr": "Litige prix"}, "category": "dispute",
                "counts_as_dispute": True, "takes_out_of_dunning": True, "action_model": "call",
                "default_owner_id": "u-col"}
        changed = await api.ok("PUT", "/admin/statuses/price_dispute", json=body)
        assert changed["version"] == 2 and changed["action_model"] == "call"
        events = await api.events.wait(api.tenant_id, ItemStatusDefined, 2, code="price_dispute")
        assert [e["data"]["version"] for e in events] == [1, 2]
        assert events[-1]["data"]["default_owner_id"] == "u-col"

    async def test_a_new_status_is_created_once(self, api: Api) -> None:
        body = {"code": "waiting_for_proof_of_delivery", "labels": {"en": "Waiting for POD"}, "category": "info"}
        created = await api.ok("POST", "/admin/statuses", 201, json=body)
        assert created["version"] == 1 and not created["takes_out_of_dunning"]
        await api.events.wait(api.tenant_id, ItemStatusDefined, code="waiting_for_proof_of_delivery")
        again = await api.fails("POST", "/admin/statuses", 409, json=body)
        assert again["code"] == "status_exists"

    @pytest.mark.fakes_suffice
    async def test_bad_status_definitions_are_refused_precisely(self, api: Api) -> None:
        resolved_dispute = {"labels": {"en": "x"}, "category": "resolved", "counts_as_dispute": True,
                            "takes_out_of_dunning": True}
        error = await api.fails("PUT", "/admin/statuses/dispute_resolved", 422, json=resolved_dispute)
        assert "rule 3" in str(error["detail"])
        unknown_owner = {"labels": {"en": "x"}, "category": "info", "default_owner_id": "ghost"}
        assert (await api.fails("PUT", "/admin/statuses/price_dispute", 422, json=unknown_owner))["code"] == \
            "unknown_owner"
        await api.fails("PUT", "/admin/statuses/no_such_status", 404, json={"labels": {"en": "x"}, "category": "info"})
        await api.fails("POST", "/admin/statuses", 422, json={"code": "Bad Code!", "labels": {"en": "x"},
                                                               "category": "info"})


class TestTemplates:
    BODY = {"name": "First reminder", "type": "email", "variants": {
        "fr": {"subject": "Relance — #client_name", "body": "Bonjour #contact_name,\n#items_list_selected\n"
                                                           "Total : #items_amount_selected"},
        "en": {"subject": "Reminder — #client_name", "body": "Dear #contact_name, #items_amount_selected"}}}

    async def test_a_template_with_the_documented_hashtags_is_saved_and_listed(self, api: Api) -> None:
        created = await api.ok("POST", "/admin/templates", 201, json=self.BODY)
        assert set(created["variants"]) == {"fr", "en"} and created["version"] == 1
        assert [t["template_id"] for t in await api.ok("GET", "/templates")] == [created["template_id"]]
        changed = await api.ok("PUT", f"/admin/templates/{created['template_id']}", json={**self.BODY, "name": "R1"})
        assert changed["version"] == 2 and changed["name"] == "R1"
        hashtags = {tag["name"] for tag in await api.ok("GET", "/templates/hashtags")}
        assert "#items_amount_selected_include_late_penalties" in hashtags

    @pytest.mark.fakes_suffice
    async def test_an_unknown_hashtag_is_refused_at_save_time(self, api: Api) -> None:
        body = {**self.BODY, "variants": {"fr": {"subject": "Relance", "body": "Montant : #montant_total"}}}
        error = await api.fails("POST", "/admin/templates", 422, json=body)
        assert error["code"] == "template_rejected"
        assert error["errors"] == [{"field": "body.variants.fr.body", "message": "unknown hashtag #montant_total"}]

    @pytest.mark.fakes_suffice
    async def test_a_sandbox_escape_is_refused_at_save_time(self, api: Api) -> None:
        body = {**self.BODY, "variants": {"en": {"subject": "x", "body": "{{ ''.__class__.__mro__ }}"}}}
        error = await api.fails("POST", "/admin/templates", 422, json=body)
        assert "'__class__' is not allowed" in error["detail"]

    @pytest.mark.fakes_suffice
    async def test_the_internal_link_is_only_for_internal_templates(self, api: Api) -> None:
        variants = {"en": {"subject": "Case #client_name", "body": "Open #link_url"}}
        await api.fails("POST", "/admin/templates", 422, json={**self.BODY, "variants": variants})
        await api.ok("POST", "/admin/templates", 201, json={**self.BODY, "audience": "internal", "variants": variants})

    @pytest.mark.fakes_suffice
    async def test_deleting_an_unknown_template_is_a_404(self, api: Api) -> None:
        await api.fails("DELETE", "/admin/templates/nope", 404)


class TestUsersAndRoles:
    async def test_users_are_declared_with_roles_and_emails(self, api: Api) -> None:
        await seed_people(api)
        users = await api.ok("GET", "/users")
        assert [(u["user_id"], u["roles"]) for u in users] == [
            ("u-admin", ["admin"]), ("u-col", ["collector"]), ("u-sales", ["collector"])]
        await api.fails("PUT", "/admin/users/u-x", 422, json={"name": "X", "email": "not-an-email",
                                                              "roles": ["collector"]})
        await api.fails("PUT", "/admin/users/u-x", 422, json={"name": "X", "email": "x@acme.example",
                                                              "roles": ["janitor"]})

    @pytest.mark.fakes_suffice
    async def test_only_an_admin_manages_statuses_templates_users_and_settings(self, api: Api) -> None:
        async with api.as_user("u-col", "collector") as collector:
            for method, url, body in (("PUT", "/admin/users/u-x", {"name": "X", "email": "x@a.example",
                                                                    "roles": ["admin"]}),
                                      ("POST", "/admin/templates", TestTemplates.BODY),
                                      ("PUT", "/admin/statuses/price_dispute", {"labels": {"en": "x"},
                                                                                "category": "info"}),
                                      ("PUT", "/admin/settings", {"default_language": "fr"})):
                error = await collector.fails(method, url, 403, json=body)
                assert "admin" in error["detail"]
            assert len(await collector.ok("GET", "/statuses")) == 9  # reading is for everyone

    @pytest.mark.fakes_suffice
    async def test_no_token_or_a_forged_one_is_a_401(self, api: Api) -> None:
        await api.fails("GET", "/statuses", 401, headers={"Authorization": ""})
        await api.fails("GET", "/statuses", 401, headers={"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.x"})

    async def test_settings_name_the_company_and_the_internal_domains(self, api: Api) -> None:
        body = {"company": {"name": "Acme Industries", "email": "credit@acme.example"}, "default_language": "fr",
                "internal_domains": ["Acme.Example"]}
        saved = await api.ok("PUT", "/admin/settings", json=body)
        assert saved["internal_domains"] == ["acme.example"]
        assert (await api.ok("GET", "/settings"))["company"]["name"] == "Acme Industries"
        await api.fails("PUT", "/admin/settings", 422, json={"internal_domains": ["not a domain"]})


@pytest.mark.real_stack  # the AsyncAPI lists the consumers the broker has; offline there is no broker
async def test_the_api_and_the_events_are_documented(api: Api) -> None:
    openapi = await api.ok("GET", "/openapi.json")
    assert {"/wizard/change-status", "/actions/{action_id}/close", "/imports/items"} <= set(openapi["paths"])
    asyncapi = await api.ok("GET", "/asyncapi.json")
    text = str(asyncapi)
    for event_type in ("arf.items.detached.v1", "arf.action.changed.v1", "arf.email.requested.v1",
                       "arf.status.defined.v1", "arf.reply.received.v1"):
        assert event_type in text, event_type
