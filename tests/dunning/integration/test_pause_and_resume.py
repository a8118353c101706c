"""A follow-up created on an item stops its reminders; when the dispute is resolved the item is back in
the flow and the next reminder is the one its age calls for (rules 1, 2, 3), with the proof kept."""

from datetime import date, timedelta

from shared.contracts.receivables import ItemsDetached, ItemsReattached, ItemStatusChanged, ItemsUpserted, ReattachReason
from shared.contracts.values import ActionType, StatusCategory
from tests.dunning.builders import DUE, client_event, snapshot, status_event
from tests.dunning.harness import Dunning

DISPUTE = status_event("price_dispute", category=StatusCategory.DISPUTE, takes_out=True)
RESOLVED = status_event("dispute_resolved", category=StatusCategory.RESOLVED, takes_out=False)


def day(offset: int) -> date:
    return DUE + timedelta(days=offset)


class TestFollowUpStopsRemindersUntilResolved:
    async def test_follow_up_stops_reminders_and_resolution_resumes_at_the_step_its_age_calls_for(
        self, dunning: Dunning
    ) -> None:

        await dunning.send(DISPUTE, RESOLVED)
        await dunning.send(client_event("c1"), ItemsUpserted(client_id="c1", items=[snapshot("i1", version=1)]))
        await dunning.settle()

        courtesy = await dunning.run(day(-5))
        assert courtesy.sent == 1

        await dunning.send(
            ItemStatusChanged(client_id="c1", status_code="price_dispute",
                              items=[snapshot("i1", version=2, status="price_dispute", changed=day(2))]),
            ItemsDetached(client_id="c1", action_id="fu-1", action_type=ActionType.FOLLOW_UP,
                          items=[snapshot("i1", version=3, status="price_dispute", held_by="fu-1", changed=day(2))]),
        )
        await dunning.settle()
        held = await dunning.run(day(5))
        assert (held.sent, held.skipped) == (0, 1)
        [line] = (await dunning.http.get("/clients/c1/items")).json()  # what the consistency checker reads
        assert line["held_by_action_id"] == "fu-1"

        await dunning.send(
            ItemStatusChanged(client_id="c1", status_code="dispute_resolved",
                              items=[snapshot("i1", version=4, status="dispute_resolved", held_by="fu-1", changed=day(9))]),
            ItemsReattached(client_id="c1", action_id="fu-1", reason=ReattachReason.RESOLVED_STATUS,
                            items=[snapshot("i1", version=5, status="dispute_resolved", changed=day(9))]),
        )
        await dunning.settle()
        resumed = await dunning.run(day(9))
        assert resumed.sent == 1
        [line] = (await dunning.http.get("/clients/c1/items")).json()
        assert line["held_by_action_id"] is None

        emails = await dunning.emails()
        assert [e["idempotency_key"] for e in emails] == [
            f"dunning|{dunning.tenant}|c1|standard|courtesy|{day(-5)}",
            f"dunning|{dunning.tenant}|c1|standard|first-reminder|{day(9)}",
        ]
        assert emails[1]["context"]["items"][0]["number"] == "INV-i1"
        skipped = await dunning.records(outcome="skipped")
        assert len(skipped) == 1
        assert skipped[0]["step_code"] == "first-reminder"
        assert skipped[0]["reason_code"] == "held_by_action"
        assert "follow-up fu-1" in skipped[0]["reason"]
        sent = await dunning.records(outcome="sent", step_code="first-reminder")
        assert "re-entered the flow" in (sent[0]["items"][0]["detail"] or "")

    async def test_an_item_resolved_long_after_gets_the_current_step_not_a_burst_of_missed_ones(
        self, dunning: Dunning
    ) -> None:

        await dunning.send(DISPUTE, RESOLVED, client_event("c1"))
        await dunning.send(
            ItemsUpserted(client_id="c1", items=[snapshot("i1", version=1)]),
            ItemsDetached(client_id="c1", action_id="fu-2", action_type=ActionType.FOLLOW_UP,
                          items=[snapshot("i1", version=2, held_by="fu-2", changed=day(-10))]),
        )
        await dunning.settle()
        for offset in (-5, 5, 15):
            await dunning.run(day(offset))
        await dunning.send(ItemsReattached(client_id="c1", action_id="fu-2", reason=ReattachReason.RESOLVED_STATUS,
                                        items=[snapshot("i1", version=3, changed=day(20))]))
        await dunning.settle()
        report = await dunning.run(day(20))

        assert await dunning.emails() == []  # no courtesy, no first reminder sent late
        assert (report.in_agenda, report.sent) == (1, 0)
        call = await dunning.records(outcome="in_agenda")
        assert call[0]["step_code"] == "call"
        assert call[0]["passed_over"] == ["courtesy", "first-reminder"]
        skipped_steps = [r["step_code"] for r in await dunning.records(outcome="skipped")]
        assert skipped_steps == ["courtesy", "first-reminder", "call"]

        history = (await dunning.http.get("/clients/c1/history")).json()
        kinds = [line["kind"] for line in history]
        assert "resumed" in kinds and "paused" in kinds
        resumed = next(line for line in history if line["kind"] == "resumed")
        assert "its age calls for D+15 Reminder call" in resumed["text"]
