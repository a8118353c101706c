"""The documented rules, each on the fakes and on the real broker and database (rules 5 and 9's page belong to
the indicators and interactive-email issues; rule 9's recipients are checked in test_wizard)."""

import asyncio

import pytest

from shared.contracts.actions import ActionChanged
from shared.contracts.receivables import ItemsDetached, ItemsReattached, ItemStatusChanged, ItemStatusDefined
from tests.followups.helpers import Api, seed_client, seed_people


async def dispute(api: Api, item_ids: list[str], status: str = "price_dispute", **extra: object) -> dict:
    return await api.ok("POST", "/wizard/change-status", json={
        "client_id": "C1", "item_ids": item_ids, "status_code": status, **extra})


async def held_ids(api: Api, client_id: str = "C1") -> set[str]:
    return {item["item_id"] for item in await api.ok("GET", f"/clients/{client_id}/items?held=true")}


class TestRules1And2ItemsLeaveDunningThroughASpecificAction:
    async def test_a_dispute_puts_its_items_in_a_follow_up_and_publishes_each_step_with_its_version(
            self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=3)
        result = await dispute(api, ids[:2], comment="unit price differs")
        action_id = result["action"]["action_id"]
        assert result["action"]["type"] == "follow_up" and result["action"]["owner"]["user_id"] == "u-col"
        assert await held_ids(api) == set(ids[:2])

        changed = (await api.events.wait(api.tenant_id, ItemStatusChanged))[0]["data"]
        assert changed["status_code"] == "price_dispute" and changed["comment"] == "unit price differs"
        assert changed["previous_status_codes"] == {ids[0]: None, ids[1]: None}
        assert [(i["version"], i["held_by_action_id"]) for i in changed["items"]] == [(2, None), (2, None)]
        detached = (await api.events.wait(api.tenant_id, ItemsDetached))[0]["data"]
        assert detached["action_id"] == action_id and detached["action_type"] == "follow_up"
        assert [(i["version"], i["held_by_action_id"], i["status_code"]) for i in detached["items"]] == [
            (3, action_id, "price_dispute")] * 2
        created = (await api.events.wait(api.tenant_id, ActionChanged))[0]["data"]
        assert created["change"] == "created" and created["action"]["item_ids"] == ids[:2]

    @pytest.mark.fakes_suffice
    async def test_rule_2_a_dispute_cannot_simply_follow_the_scenario(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=2)
        error = await api.fails("POST", "/wizard/change-status", 422, json={
            "client_id": "C1", "item_ids": ids, "status_code": "quality_dispute",
            "next_action": {"kind": "scenario"}})
        assert error["code"] == "action_required" and error["item_ids"] == ids
        assert not api.events.of(api.tenant_id, ItemStatusChanged)  # nothing half-written
        assert all(i["status_code"] is None for i in await api.ok("GET", "/clients/C1/items"))

    async def test_an_informational_status_leaves_items_in_the_scenario(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=1)
        await api.ok("POST", "/admin/statuses", 201, json={"code": "called", "labels": {"en": "Called"},
                                                           "category": "info"})
        result = await api.ok("POST", "/wizard/change-status", json={"client_id": "C1", "item_ids": ids,
                                                                     "status_code": "called"})
        assert result["action"] is None and result["next_action"] == "scenario" and await held_ids(api) == set()


class TestAnItemIsHeldByOneOpenActionAtATime:
    async def test_a_second_follow_up_for_a_held_item_is_a_409_naming_the_holder(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=2)
        first = (await dispute(api, ids[:1]))["action"]
        error = await api.fails("POST", "/wizard/change-status", 409, json={
            "client_id": "C1", "item_ids": ids, "status_code": "quantity_dispute",
            "next_action": {"kind": "create_action", "source": "new", "type": "follow_up"}})
        assert error["code"] == "item_held" and error["holding_action_id"] == first["action_id"]
        assert error["item_ids"] == ids[:1] and first["name"] in error["detail"]
        other = await api.ok("POST", "/actions", 201, json={"client_id": "C1", "type": "call",
                                                            "item_ids": ids[1:]})
        error = await api.fails("POST", f"/actions/{other['action_id']}/items", 409, json={"item_ids": ids[:1]})
        assert error["holding_action_id"] == first["action_id"]


class TestRule3AResolvedItemLeavesItsFollowUp:
    async def test_resolved_items_are_released_and_re_enter_dunning_the_others_stay(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=3)
        action_id = (await dispute(api, ids))["action"]["action_id"]
        result = await dispute(api, ids[:2], status="dispute_resolved", comment="credit note 4711 issued")
        assert result["released"] == [{"action_id": action_id, "item_count": 2}]
        assert await held_ids(api) == {ids[2]}
        released = (await api.events.wait(api.tenant_id, ItemsReattached))[0]["data"]
        assert released["reason"] == "resolved_status" and released["action_id"] == action_id
        assert [(i["item_id"], i["held_by_action_id"], i["status_code"], i["version"]) for i in released["items"]] \
            == [(ids[0], None, "dispute_resolved", 5), (ids[1], None, "dispute_resolved", 5)]
        action = await api.ok("GET", f"/actions/{action_id}")
        assert action["item_ids"] == [ids[2]] and action["state"] == "open"
        history = await api.ok("GET", f"/actions/{action_id}/history")
        assert [e["kind"] for e in history] == ["created", "item_status_changed", "items_removed"]
        assert history[2]["data"] == {"item_ids": ids[:2], "reason": "resolved_status"}
        assert history[1]["text"] == "credit note 4711 issued"
        removed = (await api.events.wait(api.tenant_id, ActionChanged, change="items_removed"))[0]["data"]
        assert removed["action"]["item_ids"] == [ids[2]] and removed["action"]["version"] == 2

    @pytest.mark.fakes_suffice
    async def test_a_resolved_status_cannot_create_an_action(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=1)
        error = await api.fails("POST", "/wizard/change-status", 422, json={
            "client_id": "C1", "item_ids": ids, "status_code": "dispute_resolved",
            "next_action": {"kind": "create_action", "type": "call"}})
        assert error["code"] == "resolved_needs_scenario"


class TestRule4AnItemRemovedByHandReEntersDunning:
    async def test_removing_items_releases_them_with_the_reason(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=2)
        action_id = (await dispute(api, ids))["action"]["action_id"]
        action = await api.ok("POST", f"/actions/{action_id}/items/remove", json={"item_ids": ids[:1]})
        assert action["item_ids"] == ids[1:] and await held_ids(api) == set(ids[1:])
        released = (await api.events.wait(api.tenant_id, ItemsReattached))[0]["data"]
        assert released["reason"] == "removed_from_action" and released["items"][0]["item_id"] == ids[0]
        assert released["actor"]["id"] == "u-admin"
        error = await api.fails("POST", f"/actions/{action_id}/items/remove", 422, json={"item_ids": ids[:1]})
        assert error["code"] == "not_in_action"


class TestRule6AStatusSuggestsOrCreatesItsActionModel:
    async def test_the_suggestion_shows_the_action_and_writes_nothing(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=1)
        proposal = await api.ok("POST", "/wizard/suggest", json={"client_id": "C1", "item_ids": ids,
                                                                 "status_code": "promise_to_pay"})
        assert proposal["next_action"]["source"] == "status_model"
        assert proposal["action"]["type"] == "call" and proposal["action"]["scheduled_for"] == "2026-11-30"
        assert proposal["action"]["name"] == "Promesse de paiement — Client C1"
        assert await held_ids(api) == set()

    async def test_qualifying_creates_the_linked_action_with_the_default_owner(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=1)
        await api.ok("PUT", "/admin/statuses/promise_to_pay", json={
            "labels": {"en": "Promise to pay", "fr": "Promesse de paiement"}, "category": "promise",
            "takes_out_of_dunning": True, "action_model": "call", "action_delay_days": 3,
            "default_owner_id": "u-sales"})
        action = (await dispute(api, ids, status="promise_to_pay"))["action"]
        assert (action["type"], action["owner"]["user_id"], action["scheduled_for"]) == ("call", "u-sales",
                                                                                          "2026-11-26")


class TestRule7AnActionWhoseItemsAreAllClosedIsDeleted:
    async def test_paying_the_last_open_item_deletes_the_action_in_the_client_history(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=2)
        action_id = (await dispute(api, ids))["action"]["action_id"]
        paid = [{"item_id": item_id, "client_id": "C1", "number": f"INV-C1-{n + 1}", "issue_date": "2026-09-01",
                 "due_date": "2026-10-24", "amount": "100.00", "open_amount": "0", "currency": "EUR"}
                for n, item_id in enumerate(ids)]
        await api.ok("POST", "/imports/items", json=paid[:1])
        assert (await api.ok("GET", f"/actions/{action_id}"))["state"] == "open"  # one item still open
        await api.ok("POST", "/imports/items", json=paid[1:])
        action = await api.ok("GET", f"/actions/{action_id}")
        assert action["state"] == "deleted"
        deleted = (await api.events.wait(api.tenant_id, ActionChanged, change="deleted"))[0]["data"]
        assert deleted["actor"]["kind"] == "system" and deleted["action"]["state"] == "deleted"
        released = (await api.events.wait(api.tenant_id, ItemsReattached))[0]["data"]
        assert released["reason"] == "item_closed" and {i["item_id"] for i in released["items"]} == set(ids)
        history = await api.ok("GET", "/clients/C1/history")
        assert [e["kind"] for e in history] == ["deleted", "created", "items_qualified"]
        automatic = history[0]
        assert automatic["action_id"] == action_id and automatic["data"] == {
            "automatic": True, "reason": "all its items are closed"}
        assert await held_ids(api) == set()


class TestConcurrentRequests:
    async def test_two_follow_ups_racing_for_the_same_item_one_wins_the_other_gets_a_409(self, api: Api) -> None:
        await seed_people(api)
        ids = await seed_client(api, items=2)
        new_follow_up = {"kind": "create_action", "source": "status_model"}
        bodies = [{"client_id": "C1", "item_ids": ids, "status_code": code, "next_action": new_follow_up}
                  for code in ("price_dispute", "quality_dispute")]
        answers = await asyncio.gather(*(api.http.post("/wizard/change-status", json=body) for body in bodies))
        assert sorted(a.status_code for a in answers) == [200, 409]
        winner = next(a.json() for a in answers if a.status_code == 200)
        assert await held_ids(api) == set(ids)
        items = await api.ok("GET", "/clients/C1/items")
        assert {(i["held_by_action_id"], i["status_code"], i["version"]) for i in items} == {
            (winner["action"]["action_id"], winner["status_code"], 3)}
        assert len(await api.ok("GET", "/actions?client_id=C1")) == 1

    async def test_a_tenants_first_requests_in_parallel_install_the_defaults_once(self, api: Api) -> None:
        answers = await asyncio.gather(*(api.http.get("/statuses") for _ in range(5)))
        assert [len(a.json()) for a in answers] == [9] * 5
        await api.events.wait(api.tenant_id, ItemStatusDefined, 9)
        assert len(await api.events.settle(api.tenant_id, quiet_s=1.0)) == 9
