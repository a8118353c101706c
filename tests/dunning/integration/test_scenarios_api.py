"""Scenarios over HTTP: the default one on first use, validation with clear 4xx, one default per tenant,
tenant isolation, and dry runs (what will go out, what a change would change) before saving."""

from datetime import timedelta
from typing import Any

from services.dunning.domain.default_scenario import default_scenario
from shared.contracts.receivables import ItemsUpserted
from tests.dunning.builders import DUE, client_event, snapshot
from tests.dunning.harness import Dunning


def default_body(**changes: Any) -> dict[str, Any]:
    body = default_scenario().model_dump(mode="json")
    body.update(changes)
    return body


class TestScenarioCrud:
    async def test_a_tenant_gets_the_default_scenario_on_first_use_and_setup_is_idempotent(self, dunning: Dunning) -> None:
        listed = (await dunning.http.get("/scenarios")).json()
        assert [(s["code"], s["is_default"]) for s in listed] == [("standard", True)]
        assert [s["offset_days"] for s in listed[0]["steps"]] == [-5, 5, 15, 30, 45]
        again = (await dunning.http.post("/scenarios/setup")).json()
        assert again == listed

    async def test_unknown_hashtags_and_sandbox_escapes_are_refused_at_save(self, dunning: Dunning) -> None:
        body = default_body(code="strict", is_default=False)
        body["templates"][0]["variants"]["en"]["body"] = "Pay #amount_due now {{ ''.__class__.__mro__ }}"
        response = await dunning.http.post("/scenarios", json=body)
        assert response.status_code == 422
        problem = response.json()
        assert problem["code"] == "scenario_invalid"
        field = f"body.templates.{body['templates'][0]['code']}.en.body"
        assert any(e["field"] == field and "unknown hashtag #amount_due" in e["message"] for e in problem["errors"])
        escape = default_body(code="strict", is_default=False)
        escape["templates"][0]["variants"]["en"]["body"] = "{{ ''.__class__.__mro__ }}"
        response = await dunning.http.post("/scenarios", json=escape)
        assert response.status_code == 422
        assert any("'__class__' is not allowed" in e["message"] for e in response.json()["errors"])

    async def test_steps_that_cannot_run_are_refused_with_every_reason(self, dunning: Dunning) -> None:
        body = default_body(code="odd", is_default=False)
        body["steps"][2] = {**body["steps"][2], "automatic": True}  # an automatic call
        body["steps"][1] = {**body["steps"][1], "template_code": "nope"}
        body["steps"][4] = {**body["steps"][4], "offset_days": 30}  # same day as the formal notice
        response = await dunning.http.post("/scenarios", json=body)
        assert response.status_code == 422
        problems = [(e["field"], e["message"]) for e in response.json()["errors"]]
        assert any(field.startswith("body.steps.") and "a call step cannot be automatic" in m for field, m in problems)
        assert any(field.startswith("body.steps.") and "unknown template 'nope'" in m for field, m in problems)
        assert any("two steps fall on D+30" in m for _, m in problems)

    async def test_one_default_per_tenant_and_the_default_cannot_be_deleted(self, dunning: Dunning) -> None:
        created = await dunning.http.post("/scenarios", json=default_body(code="gentle", name="Gentle"))
        assert created.status_code == 201, created.text
        codes = {s["code"]: s["is_default"] for s in (await dunning.http.get("/scenarios")).json()}
        assert codes == {"gentle": True, "standard": False}
        assert (await dunning.http.delete("/scenarios/gentle")).status_code == 409
        assert (await dunning.http.post("/scenarios", json=default_body(code="gentle"))).status_code == 409
        assert (await dunning.http.delete("/scenarios/standard")).status_code == 204
        assert (await dunning.http.get("/scenarios/standard")).status_code == 404

    async def test_a_stale_version_is_refused_and_a_collector_cannot_change_scenarios(self, dunning: Dunning) -> None:
        await dunning.http.get("/scenarios")
        changed = default_body(name="Standard v2")
        ok = await dunning.http.put("/scenarios/standard", params={"expected_version": 1}, json=changed)
        assert ok.status_code == 200 and ok.json()["version"] == 2
        stale = await dunning.http.put("/scenarios/standard", params={"expected_version": 1}, json=changed)
        assert stale.status_code == 409
        as_collector = await dunning.http.put("/scenarios/standard", json=changed, headers=dunning.auth(role="collector"))
        assert as_collector.status_code == 403

    async def test_tenants_never_see_each_others_scenarios(self, dunning: Dunning) -> None:
        await dunning.http.post("/scenarios", json=default_body(code="mine", is_default=False))
        other = dunning.as_tenant(dunning.tenant + "-other")
        try:
            codes = [s["code"] for s in (await other.http.get("/scenarios")).json()]
            assert codes == ["standard"]
            assert (await other.http.get("/scenarios/mine")).status_code == 404
        finally:
            await other.http.aclose()


class TestDryRun:
    async def test_preview_shows_what_goes_out_over_the_next_days_grouped_per_client(self, dunning: Dunning) -> None:
        await dunning.send(client_event("c1"), ItemsUpserted(client_id="c1", items=[
            snapshot("i1", version=1), snapshot("i2", version=1)]))
        await dunning.send(client_event("c2", with_contact=False),
                           ItemsUpserted(client_id="c2", items=[snapshot("j1", client_id="c2", version=1)]))
        await dunning.settle()
        dunning.set_day(DUE)
        projected = (await dunning.http.get("/preview", params={"days": 20})).json()
        lines = [(p["day"], p["client_id"], p["step_code"], p["outcome"], len(p["item_ids"])) for p in projected]
        assert lines == [
            ("2026-03-01", "c1", "courtesy", "would_send", 2),  # overdue courtesy: goes out at the next pass
            ("2026-03-01", "c2", "courtesy", "skipped", 1),  # no email contact: recorded, not sent
            ("2026-03-06", "c1", "first-reminder", "would_send", 2),
            ("2026-03-06", "c2", "first-reminder", "skipped", 1),
            ("2026-03-16", "c1", "call", "in_agenda", 2),
            ("2026-03-16", "c2", "call", "in_agenda", 1),
        ]
        assert projected[0]["amounts"] == {"EUR": "200.00"}
        only_c2 = (await dunning.http.get("/preview", params={"days": 20, "client_id": "c2"})).json()
        assert {p["client_id"] for p in only_c2} == {"c2"}

    async def test_a_changed_scenario_shows_what_it_would_change_before_it_is_saved(self, dunning: Dunning) -> None:
        await dunning.send(client_event("c1"), ItemsUpserted(client_id="c1", items=[snapshot("i1", version=1)]))
        await dunning.settle()
        dunning.set_day(DUE)
        proposed = default_body()
        proposed["steps"][1] = {**proposed["steps"][1], "offset_days": 10}  # first reminder later
        proposed["steps"] = [s for s in proposed["steps"] if s["code"] != "call"]
        changes = (await dunning.http.post("/scenarios/standard/preview-change", params={"days": 20},
                                           json=proposed)).json()
        summary = [(c["day"], c["change"], c["before"] and c["before"]["step_code"],
                    c["after"] and c["after"]["step_code"]) for c in changes]
        assert summary == [
            ("2026-03-06", "removed", "first-reminder", None),
            ("2026-03-11", "added", None, "first-reminder"),
            ("2026-03-16", "removed", "call", None),
        ]
        assert (await dunning.http.get("/scenarios/standard")).json()["version"] == 1  # nothing saved

    async def test_the_dry_run_sees_items_at_every_position_of_the_scenario(self, dunning: Dunning) -> None:
        """Items are found per position (one query per step, and the finished ones), whatever their step."""
        await dunning.send(client_event("c1"), ItemsUpserted(client_id="c1", items=[
            snapshot("old", version=1, due=DUE - timedelta(days=50)), snapshot("mid", version=1)]))
        await dunning.settle()
        await dunning.run(DUE - timedelta(days=4))  # old: its age calls for the last step (a task): finished
        await dunning.run(DUE)  # mid: courtesy done, at the first reminder
        await dunning.send(ItemsUpserted(client_id="c1", items=[snapshot("new", version=1, due=DUE + timedelta(days=6))]))
        await dunning.settle()
        dunning.set_day(DUE + timedelta(days=1))
        projected = (await dunning.http.get("/preview", params={"days": 10})).json()
        assert [(p["day"], p["step_code"], p["item_ids"]) for p in projected] == [
            ("2026-03-02", "courtesy", ["new"]),
            ("2026-03-06", "first-reminder", ["mid"]),
            ("2026-03-12", "first-reminder", ["new"]),
        ]
        proposed = default_body()
        proposed["steps"].append({"code": "last-call", "name": "Last call", "offset_days": 55, "type": "call"})
        changes = (await dunning.http.post("/scenarios/standard/preview-change", params={"days": 10},
                                           json=proposed)).json()
        assert [(c["day"], c["item_id"], c["change"], c["after"]["step_code"]) for c in changes] == [
            ("2026-03-06", "old", "added", "last-call")]  # the finished item gets the new last step
