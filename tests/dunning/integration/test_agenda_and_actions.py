"""The agenda (manual and to-be-confirmed steps, specific actions) and specific actions on their date:
sent once, confirmed first when they must be, deleted instead when all their items are closed (rule 7)."""

from datetime import UTC, date, datetime, timedelta

from shared.contracts.actions import ActionChange, ActionChanged
from shared.contracts.receivables import ItemsClosed, ItemsDetached, ItemsUpserted
from shared.contracts.values import (
    ActionContent,
    ActionSnapshot,
    ActionType,
    Recipient,
    TemplateVariant,
)
from tests.dunning.builders import DUE, client_event, collector, snapshot
from tests.dunning.harness import Dunning

CALL_DAY = DUE + timedelta(days=15)
NOTICE_DAY = DUE + timedelta(days=30)


def action(action_id: str = "a1", *, on: date, version: int = 1, automatic: bool = True, confirm: bool = False,
           type_: ActionType = ActionType.EMAIL, items: tuple[str, ...] = ("i1",)) -> ActionSnapshot:
    content = ActionContent(variants={"en": TemplateVariant(subject="About #client_name",
                                                            body="Hello #contact_name: #items_list_selected")},
                            recipients=[Recipient(email="ap@c1.example", name="Accounts payable")])
    return ActionSnapshot(action_id=action_id, client_id="c1", type=type_, name="Payment plan check", scheduled_for=on,
                          owner=collector(), automatic=automatic, to_be_confirmed=confirm, item_ids=list(items),
                          content=content, version=version, changed_at=datetime(2026, 3, 1, tzinfo=UTC))


async def with_items(dunning: Dunning, *item_ids: str) -> None:
    await dunning.send(client_event("c1"), ItemsUpserted(client_id="c1", items=[snapshot(i, version=1) for i in item_ids]))
    await dunning.settle()


class TestAgendaSteps:
    async def test_a_manual_step_waits_in_the_agenda_with_client_items_and_amounts(self, dunning: Dunning) -> None:
        await with_items(dunning, "i1", "i2")
        await dunning.run(CALL_DAY)
        agenda = (await dunning.http.get("/agenda", params={"from": str(CALL_DAY), "to": str(CALL_DAY)})).json()
        assert len(agenda) == 1
        entry = agenda[0]
        assert (entry["kind"], entry["type"], entry["state"], entry["client_number"]) == (
            "scenario_step", "call", "open", "C-c1")
        assert entry["amounts"] == {"EUR": "200.00"} and len(entry["items"]) == 2
        mine = (await dunning.http.get("/agenda", params={"from": str(CALL_DAY), "collector_id": "me"})).json()
        assert len(mine) == 1
        others = (await dunning.http.get("/agenda", params={"from": str(CALL_DAY), "collector_id": "u-other"})).json()
        assert others == []
        done = await dunning.http.post(f"/agenda/steps/{entry['id']}/confirm", json={"note": "client will pay friday"},
                                       headers=dunning.auth(role="collector"))
        assert done.status_code == 200 and done.json()["agenda_state"] == "done"
        assert done.json()["trail"][0]["action"] == "performed"
        again = await dunning.http.post(f"/agenda/steps/{entry['id']}/confirm")
        assert again.status_code == 409

    async def test_a_step_to_be_confirmed_is_sent_when_the_collector_confirms_it(self, dunning: Dunning) -> None:
        await with_items(dunning, "i1")
        await dunning.run(NOTICE_DAY)
        assert await dunning.emails() == []
        [waiting] = await dunning.records(outcome="in_agenda")
        assert waiting["needs_confirmation"] and waiting["step_code"] == "formal-notice"
        confirmed = await dunning.http.post(f"/agenda/steps/{waiting['_id']}/confirm")
        assert confirmed.status_code == 200, confirmed.text
        [email] = await dunning.emails()
        assert email["idempotency_key"] == f"dunning|{waiting['group_key']}"
        assert email["variants"]["fr"]["subject"].startswith("Mise en demeure")
        sent = await dunning.records(outcome="sent")
        assert sent[0]["reason_code"] == "confirmed_by_collector"

    async def test_confirming_refuses_when_the_items_left_dunning_meanwhile_and_skip_keeps_the_reason(
        self, dunning: Dunning
    ) -> None:
        await with_items(dunning, "i1")
        await dunning.run(NOTICE_DAY)
        [waiting] = await dunning.records(outcome="in_agenda")
        await dunning.send(ItemsDetached(client_id="c1", action_id="fu-9", action_type=ActionType.FOLLOW_UP,
                                         items=[snapshot("i1", version=2, held_by="fu-9")]))
        await dunning.settle()
        refused = await dunning.http.post(f"/agenda/steps/{waiting['_id']}/confirm")
        assert refused.status_code == 409 and "held by follow-up fu-9" in refused.json()["detail"]
        skipped = await dunning.http.post(f"/agenda/steps/{waiting['_id']}/skip", json={"reason": "in dispute now"})
        assert skipped.status_code == 200 and skipped.json()["agenda_state"] == "skipped"
        events = await dunning.step_events()
        assert events[-1]["outcome"] == "skipped" and "in dispute now" in events[-1]["reason"]
        assert await dunning.emails() == []

    async def test_postponing_moves_the_entry_to_a_later_day_only(self, dunning: Dunning) -> None:
        await with_items(dunning, "i1")
        await dunning.run(CALL_DAY)
        [entry] = await dunning.records(outcome="in_agenda")
        past = await dunning.http.post(f"/agenda/steps/{entry['_id']}/postpone", json={"to": str(CALL_DAY)})
        assert past.status_code == 409
        later = CALL_DAY + timedelta(days=3)
        moved = await dunning.http.post(f"/agenda/steps/{entry['_id']}/postpone", json={"to": str(later)})
        assert moved.status_code == 200
        on_later = (await dunning.http.get("/agenda", params={"from": str(later), "to": str(later)})).json()
        assert [e["id"] for e in on_later] == [entry["_id"]]
        missing = await dunning.http.post("/agenda/steps/nope/skip", json={"reason": "x"})
        assert missing.status_code == 404


class TestSpecificActionsOnTheirDate:
    async def test_an_automatic_action_is_sent_on_its_date_exactly_once(self, dunning: Dunning) -> None:
        await with_items(dunning, "i1")
        day = DUE + timedelta(days=3)
        changed = ActionChanged(change=ActionChange.CREATED, action=action(on=day))
        await dunning.send(changed)
        await dunning.send(changed)  # a redelivery
        await dunning.settle()
        before = await dunning.run(day - timedelta(days=1))
        assert before.actions == {}
        first = await dunning.run(day)
        again = await dunning.run(day + timedelta(days=1))
        assert (first.actions, again.actions) == ({"executed": 1}, {})
        emails = [e for e in await dunning.emails() if e["purpose"] == "action"]
        assert len(emails) == 1
        assert emails[0]["to"] == [{"email": "ap@c1.example", "name": "Accounts payable"}]
        assert emails[0]["context"]["action"]["name"] == "Payment plan check"
        [ran] = await dunning.staged("arf.dunning.action-executed.v1")
        assert (ran["outcome"], ran["action_id"], ran["email_request_id"]) == ("executed", "a1", emails[0]["request_id"])

    async def test_an_action_whose_items_are_all_closed_is_deleted_instead_of_executed(self, dunning: Dunning) -> None:
        await with_items(dunning, "i1", "i2")
        day = DUE + timedelta(days=3)
        await dunning.send(ActionChanged(change=ActionChange.CREATED, action=action(on=day, items=("i1", "i2"))))
        await dunning.send(ItemsClosed(client_id="c1", items=[snapshot("i1", version=2, open_amount="0"),
                                                              snapshot("i2", version=2, open_amount="0")]))
        await dunning.settle()
        report = await dunning.run(day)
        assert report.actions == {"deleted": 1}
        assert [e for e in await dunning.emails() if e["purpose"] == "action"] == []
        [ran] = await dunning.staged("arf.dunning.action-executed.v1")
        assert ran["outcome"] == "deleted" and "rule 7" in ran["reason"]

    async def test_an_action_to_be_confirmed_waits_in_the_agenda_until_confirmed(self, dunning: Dunning) -> None:
        await with_items(dunning, "i1")
        day = DUE + timedelta(days=3)
        await dunning.send(ActionChanged(change=ActionChange.CREATED, action=action(on=day, confirm=True)),
                           ActionChanged(change=ActionChange.CREATED,
                                         action=action("a2", on=day, automatic=False, type_=ActionType.CALL)))
        await dunning.settle()
        assert (await dunning.run(day)).actions == {}
        agenda = {e["id"]: e for e in (await dunning.http.get("/agenda", params={"from": str(day)})).json()}
        assert agenda["a1"]["needs_confirmation"] and agenda["a1"]["state"] == "awaiting_confirmation"
        assert agenda["a2"]["state"] == "manual" and agenda["a2"]["type"] == "call"
        confirmed = await dunning.http.post("/agenda/actions/a1/confirm", headers=dunning.auth(role="collector"))
        assert confirmed.json() == {"action_id": "a1", "outcome": "executed"}
        assert (await dunning.http.post("/agenda/actions/a1/confirm")).status_code == 409
        [ran] = await dunning.staged("arf.dunning.action-executed.v1")
        assert ran["confirmed_by"] == "u-col"
        assert len([e for e in await dunning.emails() if e["purpose"] == "action"]) == 1
