"""The contract of the indicators' ports, held by the in-memory fakes and the MongoDB adapters alike:
the store (counting, facts, recounts, corrections), the unit of work, what a recompute reads, the
history and its closings, and the figures the API reads."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from services.indicators.domain.facts import ClientFacts, StatusFacts, count_action, count_item
from services.indicators.domain.figures import AggregateKey, F, Figures, contribution
from services.indicators.domain.history import EventRef, LogEntry
from services.indicators.domain.kpis import ReportingCurrency
from services.indicators.domain.rebuild import rebuild
from services.indicators.handlers.changes import changed
from services.indicators.handlers.history import close_day
from services.indicators.handlers.queries import state_at
from services.indicators.ports import Adapters, Change, Keys, Recorded, Stamp, Tx
from shared.contracts.values import ActionType, ItemSnapshot, StatusCategory
from shared.ports import Flow
from tests.indicators.fakes import action, item

T, OTHER = "acme", "globex"
DAY1 = datetime(2026, 11, 2, 9, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
ANNA = ClientFacts(client_id="c1", entity_id="fr", group_id="g1", collector_id="anna", version=1)
DISPUTE = StatusFacts(code="price_dispute", category=StatusCategory.DISPUTE, counts_as_dispute=True, version=1)


def stamp(at: datetime = DAY1, event_id: str = "e1") -> Stamp:
    return Stamp(at=at, event=EventRef(event_id=event_id, event_type="arf.items.upserted.v1",
                                       event_time=at - timedelta(minutes=1)))


def counted(snapshot: ItemSnapshot, before: Change | None = None, *, client: ClientFacts | None = ANNA,
            status: StatusFacts | None = None) -> Change:
    return changed(snapshot, before.after if before else None, count_item(snapshot, client=client, status=status))


async def record(adapters: Adapters, tenant_id: str, changes: list[Change], at: Stamp = stamp()) -> None:
    async def work(tx: Tx) -> None:
        await tx.store.record(tenant_id, changes, stamp=at)

    await adapters.uow.run(work, flow=Flow(tenant_id))


class TestCounting:
    async def test_a_recorded_subject_is_held_as_last_recorded_and_loaded_by_key_across_tenants(
        self, adapters: Adapters,
    ) -> None:
        first = counted(item("i1", open_amount="100"))
        await record(adapters, T, [first])
        second = counted(item("i1", version=2, open_amount="60"), first)
        follow_up = changed(action("f1"), None, count_action(action("f1"), client=ANNA))
        await record(adapters, T, [second, follow_up], stamp(DAY1 + timedelta(minutes=1), "e2"))
        await record(adapters, OTHER, [counted(item("i1", open_amount="5"))])

        store = adapters.uow.reading().store
        held = await store.held_items(T, ["i1", "nope"])
        assert list(held) == ["i1"] and held["i1"].snapshot.version == 2 and held["i1"].counted == second.after
        assert (await store.held_actions(T, ["f1"]))["f1"].counted == follow_up.after
        loaded = await store.load(Keys(items={(T, "i1"), (OTHER, "i1"), (T, "nope")}, actions={(T, "f1")}))
        assert set(loaded.items) == {(T, "i1"), (OTHER, "i1")} and set(loaded.actions) == {(T, "f1")}
        assert loaded.items[(OTHER, "i1")].counted.open_amount == Decimal(5)

    async def test_a_batch_writes_each_subject_once_sums_the_aggregates_and_logs_each_change(
        self, adapters: Adapters,
    ) -> None:
        v1 = counted(item("i1", open_amount="100"))
        v2 = counted(item("i1", version=2, open_amount="60"), v1)
        i2 = counted(item("i2", open_amount="300"))
        batch = [Recorded(T, v1, stamp()), Recorded(T, v2, stamp(DAY1 + timedelta(minutes=1), "e2")),
                 Recorded(T, i2, stamp(DAY1 + timedelta(minutes=2), "e3")),
                 Recorded(OTHER, counted(item("i9", open_amount="7")), stamp())]

        async def work(tx: Tx) -> None:
            await tx.store.record_many(batch)

        await adapters.uow.run(work, flow=Flow(T))
        reading = adapters.uow.reading()
        assert (await reading.store.held_items(T, ["i1"]))["i1"].counted == v2.after
        assert await reading.recompute_reads.aggregates(T) == rebuild([v2.after, i2.after])
        logged = await adapters.history.entries(T, "tenant", since=None, until=DAY2)
        assert [(entry.subject_id, entry.event.event_id) for entry in logged] == [("i1", "e1"), ("i1", "e2"),
                                                                                   ("i2", "e3")]
        assert [entry.subject_id async for entry in reading.recompute_reads.log(OTHER)] == ["i9"]
        assert sorted(entry.subject_id for entry in await reading.history.day_entries(T, DAY1.date())) == [
            "i1", "i1", "i2"]

    async def test_a_unit_of_work_that_fails_leaves_nothing_behind(self, adapters: Adapters) -> None:
        async def work(tx: Tx) -> None:
            await tx.store.record(T, [counted(item("i1"))], stamp=stamp())
            raise RuntimeError("after the write")

        with pytest.raises(RuntimeError):
            await adapters.uow.run(work, flow=Flow(T))
        assert await adapters.uow.reading().store.held_items(T, ["i1"]) == {}
        assert await adapters.figures.scope(T, "tenant") is None


class TestFacts:
    async def test_facts_are_saved_only_when_newer_and_listed_as_recently_defined(self, adapters: Adapters) -> None:
        async def save(facts: ClientFacts) -> tuple[bool, object]:
            async def work(tx: Tx) -> tuple[bool, object]:
                saved = await tx.store.save_client(T, facts, stamp=stamp())
                return saved.saved, saved.previous

            return await adapters.uow.run(work, flow=Flow(T))

        v2 = ANNA.model_copy(update={"version": 2, "collector_id": "bob"})
        assert await save(v2) == (True, None)
        assert await save(ANNA) == (False, v2)
        v3 = v2.model_copy(update={"version": 3})
        assert await save(v3) == (True, v2)

        async def define(tx: Tx) -> None:
            await tx.store.save_status(T, DISPUTE, stamp=stamp(DAY2, "e-status"))

        await adapters.uow.run(define, flow=Flow(T))
        store = adapters.uow.reading().store
        assert await store.clients(T, ["c1", "c2"]) == {"c1": v3}
        assert await store.statuses(T, ["price_dispute"]) == {"price_dispute": DISPUTE}
        clients, statuses = await store.recently_defined(DAY1 - timedelta(seconds=1))
        assert [(d.tenant_id, d.key) for d in clients] == [(T, "c1")]
        assert [(d.tenant_id, d.key, d.event.event_id) for d in statuses] == [(T, "price_dispute", "e-status")]
        assert (await store.recently_defined(DAY2 - timedelta(seconds=1)))[0] == []
        assert await adapters.uow.reading().recompute_reads.facts(T) == ({"c1": v3}, {"price_dispute": DISPUTE})

    async def test_a_read_mark_leaves_a_client_or_status_not_defined_yet_undefined(self, adapters: Adapters) -> None:
        async def mark(tx: Tx) -> None:
            await tx.store.mark_facts_read([(T, "c9")], [(T, "legal")])

        await adapters.uow.run(mark, flow=Flow(T))
        store = adapters.uow.reading().store
        assert await store.clients(T, ["c9"]) == {} and await store.statuses(T, ["legal"]) == {}
        assert await adapters.uow.reading().recompute_reads.facts(T) == ({}, {})

        async def define(tx: Tx) -> bool:
            return (await tx.store.save_client(T, ANNA.model_copy(update={"client_id": "c9"}), stamp=stamp())).saved

        assert await adapters.uow.run(define, flow=Flow(T))


class TestRecounts:
    async def test_ids_of_a_client_and_items_counted_under_a_rule(self, adapters: Adapters) -> None:
        disputed = item("i1", status_code="price_dispute", held_by="f1", held_type=ActionType.FOLLOW_UP)
        await record(adapters, T, [counted(disputed, status=DISPUTE), counted(item("i2")),
                                   counted(item("i3", client_id="c2")),
                                   changed(action("f1"), None, count_action(action("f1"), client=ANNA))])
        store = adapters.uow.reading().store
        assert sorted(await store.item_ids_of_client(T, "c1")) == ["i1", "i2"]
        assert await store.action_ids_of_client(T, "c1") == ["f1"]
        assert await store.item_ids_of_client(OTHER, "c1") == []
        rule = count_item(disputed, client=ANNA, status=DISPUTE).status_rule
        assert await store.item_ids_counted_under(T, "price_dispute", [rule]) == ["i1"]
        assert await store.item_ids_counted_under(T, "price_dispute", ["another"]) == []

    async def test_a_correction_adds_to_the_aggregates_and_to_the_history(self, adapters: Adapters) -> None:
        i1 = counted(item("i1", open_amount="100"))
        await record(adapters, T, [i1])
        key = AggregateKey("tenant", "EUR")
        fix = Figures({F.OUTSTANDING: Decimal(40)})
        entry = LogEntry(at=DAY2, event=stamp(DAY2).event, subject_kind="correction", subject_id="tenant/EUR",
                         scopes=["tenant"], correction={"EUR": dict(fix)})

        async def correct(tx: Tx) -> None:
            await tx.store.correct(T, {key: fix}, [entry], stamp=stamp(DAY2))

        await adapters.uow.run(correct, flow=Flow(T))
        reads = adapters.uow.reading().recompute_reads
        expected = rebuild([i1.after])
        expected[key] = expected[key] + fix
        assert await reads.aggregates(T) == expected
        assert [logged.subject_kind async for logged in reads.log(T)] == ["item", "correction"]


class TestHistory:
    async def test_days_close_in_order_once_and_states_at_any_moment_agree_with_the_log(
        self, adapters: Adapters,
    ) -> None:
        v1 = counted(item("i1", open_amount="100"))
        await record(adapters, T, [v1], stamp(DAY1))
        v2 = counted(item("i1", version=2, open_amount="60"), v1)
        await record(adapters, T, [v2], stamp(DAY2, "e2"))
        log = adapters.uow.reading().history
        assert T in await log.tenants()
        assert await log.first_day(T) == DAY1.date() and await log.closed_through(T) is None

        async def close(day: date) -> int:
            return await adapters.uow.run(lambda tx: close_day(T, day, history=tx.history), flow=Flow(T))

        assert await close(DAY1.date()) > 0
        assert await close(DAY1.date()) == 0  # already closed: nothing changes
        with pytest.raises(ValueError):  # a day cannot close before the one before it
            await close(DAY2.date() + timedelta(days=1))
        assert await close(DAY2.date()) > 0
        assert await adapters.history.closed_through(T) == DAY2.date()

        eur = {"EUR": Figures(contribution(v1.after)[AggregateKey("tenant", "EUR")])}
        after = {"EUR": Figures(contribution(v2.after)[AggregateKey("tenant", "EUR")])}
        closings = await adapters.history.closings(T, "tenant", through=DAY2.date())
        assert [(day, currency) for day, currency, _ in closings] == [(DAY1.date(), "EUR"), (DAY2.date(), "EUR")]
        assert [figures for _, _, figures in closings] == [eur["EUR"], after["EUR"]]
        assert await adapters.history.closed_state(T, "tenant", DAY1.date()) == eur
        assert await adapters.history.closed_state(T, "tenant", DAY2.date() + timedelta(days=5)) == after
        assert await state_at(T, "tenant", DAY1 - timedelta(hours=1), history=adapters.history) == {}
        assert await state_at(T, "tenant", DAY2 - timedelta(hours=1), history=adapters.history) == eur
        assert await state_at(T, "tenant", DAY2 + timedelta(days=3), history=adapters.history) == after


class TestFigures:
    async def test_a_scope_its_members_and_the_reporting_currency(self, adapters: Adapters) -> None:
        figures = adapters.figures
        assert await figures.scope(T, "client:c1") is None
        i1 = counted(item("i1", open_amount="100"))
        u1 = counted(item("u1", open_amount="90", currency="USD"))
        at = stamp(DAY1)
        await record(adapters, T, [i1, u1], at)

        async def define(tx: Tx) -> None:
            await tx.store.save_client(T, ANNA, stamp=at)
            await tx.store.save_client(T, ANNA.model_copy(update={"client_id": "c0", "entity_id": "de"}), stamp=at)

        await adapters.uow.run(define, flow=Flow(T))
        scope = await figures.scope(T, "client:c1")
        assert scope is not None
        totals = rebuild([i1.after, u1.after])
        assert scope.by_currency == {"EUR": totals[AggregateKey("client:c1", "EUR")],
                                     "USD": totals[AggregateKey("client:c1", "USD")]}
        assert (scope.updated_at, scope.last_event_at) == (at.at, at.event.event_time)
        both = await figures.scopes(T, ["client:c1", "client:c0"])
        assert both["client:c0"] == {} and set(both["client:c1"]) == {"EUR", "USD"}
        assert [(c.entity_id, c.client_id) for c in await figures.group_members(T, "g1")] == [("de", "c0"),
                                                                                              ("fr", "c1")]
        assert await figures.reporting_currency(T) is None
        reporting = ReportingCurrency(currency="EUR", rates={"USD": Decimal("0.9")})
        await figures.set_reporting_currency(T, reporting)
        assert await figures.reporting_currency(T) == reporting
        await figures.set_reporting_currency(T, None)
        assert await figures.reporting_currency(T) is None
