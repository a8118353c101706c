"""An automatic action dunning ran on its date (`ScheduledActionExecuted`) is reflected here, once: executed,
it is done and its items re-enter the scenario; deleted under rule 7, it is deleted with dunning's reason
(unless this service already deleted it); skipped, it stays open with the reason. A run for a date the
action no longer has changes nothing but is noted when an email went anyway."""

from datetime import date
from typing import Any

import pytest

from shared.contracts.actions import ActionChanged
from shared.contracts.dunning import ActionRunOutcome, ScheduledActionExecuted
from shared.contracts.receivables import ItemsReattached
from shared.contracts.topics import Stream
from tests.followups.helpers import Api, history_of, publish, seed_client, seed_people

ON = date(2026, 11, 26)  # the service's clock says 2026-11-23
CONTENT = {"variants": {"fr": {"subject": "Relance", "body": "Montant dû : #items_amount_selected"}}}


async def automatic_email(api: Api, item_ids: list[str], **fields: Any) -> dict[str, Any]:
    async with api.as_user("u-col", "collector") as collector:
        return await collector.ok("POST", "/actions", 201, json={  # type: ignore[no-any-return]
            "client_id": "C1", "type": "email", "name": "Relance automatique", "item_ids": item_ids,
            "scheduled_for": ON.isoformat(), "automatic": True, "content": CONTENT, **fields})


def ran(action: dict[str, Any], outcome: ActionRunOutcome, *, version: int = 1, on: date = ON, reason: str = "",
        confirmed_by: str | None = None) -> ScheduledActionExecuted:
    sent = outcome is ActionRunOutcome.EXECUTED
    return ScheduledActionExecuted(
        client_id="C1", action_id=action["action_id"], action_version=version, scheduled_for=on, outcome=outcome,
        reason=reason or f"automatic email scheduled for {on.isoformat()}: sent", item_ids=action["item_ids"],
        email_request_id=f"req-{action['action_id'][:8]}" if sent else None, confirmed_by=confirmed_by)


async def run_reported(api: Api, run: ScheduledActionExecuted, **kwargs: Any) -> None:
    await publish(api, run, Stream.DUNNING, source="/services/dunning", **kwargs)


@pytest.fixture
async def items(api: Api) -> list[str]:
    await seed_people(api)
    return await seed_client(api, items=3)


class TestExecuted:
    async def test_the_action_is_done_its_items_re_enter_dunning_and_its_history_says_so_once(
            self, api: Api, items: list[str]) -> None:
        action = await automatic_email(api, items[:2])
        url = f"/actions/{action['action_id']}"
        await run_reported(api, ran(action, ActionRunOutcome.EXECUTED, confirmed_by="u-sales"), times=2)

        history = await history_of(api, f"{url}/history", {"executed"}, 1)
        executed = history[-1]
        assert executed["actor"]["kind"] == "system"
        assert (executed["before"], executed["after"]) == ({"state": "open"}, {"state": "done"})
        assert executed["data"] == {"scheduled_for": "2026-11-26", "executed_version": 1,
                                    "email_request_id": f"req-{action['action_id'][:8]}", "confirmed_by": "u-sales"}
        done = await api.ok("GET", url)
        assert (done["state"], done["version"]) == ("done", 2)
        changed = await api.events.wait(api.tenant_id, ActionChanged, change="executed")
        released = await api.events.wait(api.tenant_id, ItemsReattached, reason="action_executed")
        await api.events.settle(api.tenant_id, quiet_s=1.0)  # the redelivery would show by now
        assert len(api.events.of(api.tenant_id, ActionChanged, change="executed")) == 1
        assert changed[0]["data"]["action"]["state"] == "done" and changed[0]["data"]["actor"]["kind"] == "system"
        assert [e["data"]["reason"] for e in api.events.of(api.tenant_id, ItemsReattached)] == ["action_executed"]
        assert {i["item_id"] for i in released[0]["data"]["items"]} == set(items[:2])
        assert await api.ok("GET", "/clients/C1/items?held=true") == []
        assert [e["kind"] for e in await api.ok("GET", f"{url}/history")].count("executed") == 1
        assert "executed" in [e["kind"] for e in await api.ok("GET", "/clients/C1/history")]
        assert (await api.fails("PUT", f"{url}/name", 409, json={"name": "x"}))["code"] == "action_not_open"

    async def test_who_confirmed_it_here_is_named_when_dunning_does_not(self, api: Api, items: list[str]) -> None:
        action = await automatic_email(api, items[:1], to_be_confirmed=True)
        url = f"/actions/{action['action_id']}"
        async with api.as_user("u-col", "collector") as collector:
            confirmed = await collector.ok("POST", f"{url}/confirm")
        await run_reported(api, ran(confirmed, ActionRunOutcome.EXECUTED, version=confirmed["version"]))
        executed = (await history_of(api, f"{url}/history", {"executed"}, 1))[-1]
        assert (executed["data"]["confirmed_by"], executed["data"]["executed_version"]) == ("u-col", 2)


class TestStaleRuns:
    async def test_a_run_for_a_former_date_leaves_the_rescheduled_action_open(self, api: Api, items: list[str]
                                                                              ) -> None:
        action = await automatic_email(api, items[:1])
        url = f"/actions/{action['action_id']}"
        await api.ok("PUT", f"{url}/schedule", json={"scheduled_for": "2026-11-30"})
        await run_reported(api, ran(action, ActionRunOutcome.EXECUTED), tenant="someone-else")
        await run_reported(api, ran(action, ActionRunOutcome.DELETED, reason="all 1 items were closed"))
        await run_reported(api, ran(action, ActionRunOutcome.EXECUTED))  # same partition, last: once noted, all ran

        history = await history_of(api, f"{url}/history", {"execution_ignored"}, 1)
        assert [e["kind"] for e in history] == ["created", "rescheduled", "execution_ignored"]
        assert "rescheduled to 2026-11-30" in history[-1]["text"]
        assert history[-1]["data"]["email_request_id"] == f"req-{action['action_id'][:8]}"
        still = await api.ok("GET", url)
        assert (still["state"], still["scheduled_for"], still["version"]) == ("open", "2026-11-30", 2)
        assert [i["item_id"] for i in await api.ok("GET", "/clients/C1/items?held=true")] == items[:1]
        await api.events.settle(api.tenant_id, quiet_s=1.0)
        assert [e["data"]["change"] for e in api.events.of(api.tenant_id, ActionChanged)] == ["created", "rescheduled"]


class TestDeletedOnItsDate:
    async def test_deleted_with_dunnings_reason_unless_rule_7_already_deleted_it_here(
            self, api: Api, items: list[str]) -> None:
        first, second = await automatic_email(api, items[:1]), await automatic_email(api, items[1:2])
        paid = {"client_id": "C1", "number": "INV-C1-2", "issue_date": "2026-09-01", "due_date": "2026-10-24",
                "amount": "100.00", "open_amount": "0", "currency": "EUR"}
        await api.ok("PUT", f"/items/{items[1]}", json=paid)  # rule 7 here: the second is deleted at once
        reason = "all 1 items were closed by 2026-11-26: deleted instead of executed (rule 7)"
        await run_reported(api, ran(second, ActionRunOutcome.DELETED, reason=reason))
        await run_reported(api, ran(first, ActionRunOutcome.DELETED, reason=reason))

        await history_of(api, f"/actions/{first['action_id']}/history", {"deleted"}, 1)
        deletions = [e for e in await api.ok("GET", "/clients/C1/history") if e["kind"] == "deleted"]
        assert [(e["action_id"], e["data"]) for e in deletions] == [
            (first["action_id"], {"automatic": True, "reason": reason}),
            (second["action_id"], {"automatic": True, "reason": "all its items are closed"})]
        assert (await api.ok("GET", f"/actions/{first['action_id']}"))["state"] == "deleted"
        await api.events.wait(api.tenant_id, ActionChanged, 2, change="deleted")
        released = {e["data"]["action_id"]: e["data"]["reason"]
                    for e in await api.events.wait(api.tenant_id, ItemsReattached, 2)}
        # the first's item is open here (dunning saw it closed): it goes back to the scenario all the same
        assert released == {second["action_id"]: "item_closed", first["action_id"]: "action_deleted"}
        await api.events.settle(api.tenant_id, quiet_s=1.0)
        assert len(api.events.of(api.tenant_id, ActionChanged, change="deleted")) == 2


class TestSkipped:
    async def test_it_stays_open_with_the_reason_in_its_and_the_clients_history(self, api: Api, items: list[str]
                                                                                ) -> None:
        action = await automatic_email(api, items[:1])
        url = f"/actions/{action['action_id']}"
        reason = "no recipient: the action names none and the client has no email contact"
        await run_reported(api, ran(action, ActionRunOutcome.SKIPPED, reason=reason), times=2)
        history = await history_of(api, f"{url}/history", {"execution_skipped"}, 1)
        await api.events.settle(api.tenant_id, quiet_s=1.0)
        history = await api.ok("GET", f"{url}/history")
        assert [(e["kind"], e["text"]) for e in history] == [("created", None), ("execution_skipped", reason)]
        assert (await api.ok("GET", url))["state"] == "open"
        client_history = await api.ok("GET", "/clients/C1/history")
        assert [e["kind"] for e in client_history] == ["execution_skipped", "created"]
        assert len(api.events.of(api.tenant_id, ActionChanged)) == 1
