"""The scheduler: one email per client and step and day, proof for every suppressed step, no step
skipped or repeated after a crash mid-pass or with two runners at once."""

import asyncio
from datetime import timedelta

import pytest

from services.dunning.adapters.publisher import OutboxPublisher
from services.dunning.domain.decisions import StepRecord
from services.dunning.workers.scheduler import Scheduler
from shared.contracts.receivables import ItemsClosed, ItemStatusChanged, ItemsUpserted
from shared.contracts.values import StatusCategory
from tests.dunning.builders import DUE, client_event, snapshot, status_event
from tests.dunning.harness import Dunning

REMINDER_DAY = DUE + timedelta(days=5)


async def portfolio(dunning: Dunning, clients: int, items_per_client: int) -> None:
    events = []
    for c in range(clients):
        cid = f"c{c}"
        events += [client_event(cid), ItemsUpserted(client_id=cid, items=[
            snapshot(f"{cid}-i{i}", client_id=cid, version=1) for i in range(items_per_client)])]
    await dunning.send(*events)
    await dunning.settle()


class TestGrouping:
    async def test_steps_due_for_several_items_of_a_client_on_one_day_make_one_email(self, dunning: Dunning) -> None:
        await dunning.send(client_event("c1"), client_event("c2"))
        await dunning.send(ItemsUpserted(client_id="c1", items=[
            snapshot("a", version=1), snapshot("b", version=1, due=DUE - timedelta(days=3)),
            snapshot("c", version=1, due=DUE + timedelta(days=10))]))
        await dunning.send(ItemsUpserted(client_id="c2", items=[snapshot("d", client_id="c2", version=1)]))
        await dunning.settle()
        report = await dunning.run(REMINDER_DAY)
        emails = await dunning.emails()
        assert report.emails == 3  # c1's reminder (a, b), c1's courtesy email (c: another step), c2's reminder
        by_step = {(e["client_id"], e["idempotency_key"].split("|")[4]): e for e in emails}
        reminder = by_step[("c1", "first-reminder")]
        assert sorted(i["number"] for i in reminder["context"]["items"]) == ["INV-a", "INV-b"]
        assert [i["number"] for i in by_step[("c1", "courtesy")]["context"]["items"]] == ["INV-c"]
        assert reminder["to"] == [{"email": "marie@c1.example", "name": "Marie Dupont"}]
        assert reminder["language"] == "fr" and "fr" in reminder["variants"]
        assert reminder["context"]["collector"]["name"] == "Jean Martin"
        assert reminder["purpose"] == "dunning_reminder" and reminder["automatic"] is True

    async def test_items_that_come_due_later_the_same_day_go_in_a_second_email_not_a_duplicate(
        self, dunning: Dunning
    ) -> None:
        await dunning.send(client_event("c1"), ItemsUpserted(client_id="c1", items=[snapshot("a", version=1)]))
        await dunning.settle()
        await dunning.run(REMINDER_DAY)
        await dunning.send(ItemsUpserted(client_id="c1", items=[snapshot("b", version=1)]))
        await dunning.settle()
        await dunning.run(REMINDER_DAY)
        await dunning.run(REMINDER_DAY)
        keys = [e["idempotency_key"] for e in await dunning.emails()]
        base = f"dunning|{dunning.tenant}|c1|standard|first-reminder|{REMINDER_DAY}"
        assert keys == [base, base + "|2"]


class TestSuppressionWithProof:
    async def test_every_suppressed_step_is_recorded_with_its_reason_and_what_went_says_why(
        self, dunning: Dunning
    ) -> None:
        promise = status_event("promise_to_pay", category=StatusCategory.PROMISE)
        await dunning.send(promise, client_event("ok"), client_event("out", excluded=True),
                           client_event("mute", with_contact=False))
        await dunning.send(
            ItemsUpserted(client_id="ok", items=[snapshot("a", client_id="ok", version=1),
                                                 snapshot("p", client_id="ok", version=1)]),
            ItemStatusChanged(client_id="ok", status_code="promise_to_pay",
                              items=[snapshot("p", client_id="ok", version=2, status="promise_to_pay")]),
            ItemsUpserted(client_id="out", items=[snapshot("x", client_id="out", version=1)]),
            ItemsUpserted(client_id="mute", items=[snapshot("m", client_id="mute", version=1)]),
        )
        await dunning.settle()
        report = await dunning.run(REMINDER_DAY)
        assert (report.sent, report.skipped) == (1, 3)
        reasons = {r["items"][0]["item_id"]: r["reason_code"] for r in await dunning.records(outcome="skipped")}
        assert reasons == {"p": "promise_pending", "x": "client_excluded", "m": "no_recipient"}
        events = await dunning.step_events()
        assert sorted((e["client_id"], e["outcome"]) for e in events) == [
            ("mute", "skipped"), ("ok", "sent"), ("ok", "skipped"), ("out", "skipped")]
        history = (await dunning.http.get("/clients/ok/history")).json()
        went = next(h["record"] for h in history if h["kind"] == "step_sent")
        assert "D+5 First reminder due" in went["reason"] and "not held by an action" in went["reason"]
        not_sent = next(h["record"] for h in history if h["kind"] == "step_skipped")
        assert "status 'promise_to_pay' (promise) takes it out of dunning" in not_sent["reason"]
        items = {i["item_id"]: i for i in (await dunning.http.get("/clients/ok/items")).json()}
        assert items["p"]["suppressed"]["reason"] == "promise_pending"
        assert items["a"]["last_step"] == "first-reminder" and items["a"]["next_step"] == "call"

    async def test_a_closed_item_leaves_dunning(self, dunning: Dunning) -> None:
        await dunning.send(client_event("c1"), ItemsUpserted(client_id="c1", items=[snapshot("a", version=1)]))
        await dunning.send(ItemsClosed(client_id="c1", items=[snapshot("a", version=2, open_amount="0")]))
        await dunning.settle()
        report = await dunning.run(REMINDER_DAY + timedelta(days=60))
        assert report.due_items == 0 and await dunning.records() == []


class TestExactlyOnce:
    async def test_a_crash_mid_pass_neither_skips_nor_repeats_a_step(self, dunning: Dunning,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
        await portfolio(dunning, clients=4, items_per_client=2)
        scheduler = dunning.app.state.dunning.scheduler
        monkeypatch.setattr(scheduler.config, "batch_groups", 1)
        real = OutboxPublisher.steps_recorded
        calls = {"n": 0}
        crashed: set[str] = set()

        async def crash_on_third_batch(publisher: OutboxPublisher, records: list[StepRecord],
                                       *args: object, **kwargs: object) -> None:
            calls["n"] += 1
            if calls["n"] == 3:
                crashed.update(record.client_id for record in records)
                raise RuntimeError("the process dies here")
            await real(publisher, records, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(OutboxPublisher, "steps_recorded", crash_on_third_batch)
        with pytest.raises(RuntimeError):
            await dunning.run(REMINDER_DAY)
        sent = {e["client_id"] for e in await dunning.emails()}
        # The batches before committed (one more may have, in flight beside it); the crashed one left nothing.
        assert len(crashed) == 1 and not crashed & sent and 2 <= len(sent) <= 3
        monkeypatch.setattr(OutboxPublisher, "steps_recorded", real)
        await dunning.run(REMINDER_DAY)
        await dunning.run(REMINDER_DAY)
        keys = [e["idempotency_key"] for e in await dunning.emails()]
        assert len(keys) == 4 == len(set(keys))
        assert len(await dunning.records(outcome="sent")) == 4

    async def test_an_item_that_changes_after_the_due_query_is_decided_again_on_its_new_state(
        self, dunning: Dunning, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await dunning.send(status_event(), client_event("c1"), ItemsUpserted(client_id="c1", items=[
            snapshot("a", version=1), snapshot("b", version=1)]))
        await dunning.settle()
        scheduler = dunning.app.state.dunning.scheduler
        find_due = scheduler.find_due

        async def dispute_arrives_right_after_the_query(*args: object) -> object:
            due = await find_due(*args)
            if due:  # the item is read as due; before the batch commits, it goes into dispute
                await dunning.send(ItemStatusChanged(client_id="c1", status_code="price_dispute", items=[
                    snapshot("b", version=2, status="price_dispute")]))
                await dunning.settle()
            return due

        monkeypatch.setattr(scheduler, "find_due", dispute_arrives_right_after_the_query)
        report = await dunning.run(REMINDER_DAY)
        assert (report.sent, report.skipped, report.conflicts) == (1, 1, 1)
        [email] = await dunning.emails()
        assert [i["number"] for i in email["context"]["items"]] == ["INV-a"]
        [skipped] = await dunning.records(outcome="skipped")
        assert (skipped["reason_code"], skipped["items"][0]["item_id"]) == ("in_dispute", "b")

    async def test_two_runners_at_once_send_each_step_once(self, dunning: Dunning) -> None:
        await portfolio(dunning, clients=12, items_per_client=2)
        first = dunning.app.state.dunning.scheduler
        second = Scheduler(uow=first.uow, clock=first.clock, lease=first.lease, config=first.config)
        dunning.set_day(REMINDER_DAY)
        reports = await asyncio.gather(*(runner.run_pass(REMINDER_DAY, hold_lease=False, tenant_ids=[dunning.tenant])
                                         for runner in (first, second, first, second)))
        assert sum(r.emails for r in reports) == 12
        keys = [e["idempotency_key"] for e in await dunning.emails()]
        assert len(keys) == 12 == len(set(keys))
        item_ids = [i["item_id"] for r in await dunning.records(outcome="sent") for i in r["items"]]
        assert len(item_ids) == 24 == len(set(item_ids))
