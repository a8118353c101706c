"""One contract for every dunning port, run against the in-memory fakes (unit) and the MongoDB adapters
(integration): what the handlers rely on, so a fake cannot drift from the real thing."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.dunning.adapters.unit_of_work import DunningMongoUnitOfWork
from services.dunning.domain.decisions import RecordItem, StepRecord
from services.dunning.domain.history import HistoryEntry
from services.dunning.domain.messages import CompanyProfile, email_request
from services.dunning.domain.progress import Reason, apply_snapshot, plan_action
from services.dunning.domain.scenarios import StepType
from services.dunning.domain.state import ItemState
from services.dunning.ports import DunningUnitOfWork, Tx
from shared.contracts.dunning import ActionRunOutcome, ScheduledActionExecuted, StepOutcome
from shared.contracts.email import EmailPurpose, RenderAction
from shared.contracts.topics import Topics
from shared.contracts.values import ActionSnapshot, ActionType
from shared.platform.clock import ManualClock
from shared.platform.mongo import TYPE_REGISTRY
from shared.platform.outbox import Outbox
from shared.ports import Duplicate, Flow
from tests.dunning.builders import DUE, client_state, saved, snapshot, status_event, status_rules
from tests.dunning.fakes import FakeUnitOfWork

NOW = datetime(2026, 3, 1, 8, tzinfo=UTC)
SCENARIO = saved()
EMAIL = "arf.email.requested.v1"
MOVED = {"done_step": "courtesy", "done_offset": -5, "done_on": date(2026, 2, 24), "next_step": "first-reminder",
         "resumed": None}


@dataclass
class Ports:
    """A unit of work, and how to read back what it published: (event type, key), per key in order."""

    uow: DunningUnitOfWork
    published: Callable[[], Awaitable[list[tuple[str, str]]]]


@pytest.fixture(params=["memory", pytest.param("mongodb", marks=pytest.mark.integration)])
async def ports(request: pytest.FixtureRequest) -> AsyncIterator[Ports]:
    """The fakes' unit of work, or MongoDB's on a database of its own (its outbox rows read back)."""
    if request.param == "memory":
        fake = FakeUnitOfWork()

        async def recorded() -> list[tuple[str, str]]:
            published = [(p.payload.type_name(), f"{p.flow.tenant_id}:{p.key_id}") for p in fake.published]
            return sorted(published, key=lambda event: event[1])  # in order per key, as the outbox numbers them

        yield Ports(fake, recorded)
        return
    infra = request.getfixturevalue("infra")
    client: AsyncMongoClient[Any] = AsyncMongoClient(infra.mongodb_url, tz_aware=True, type_registry=TYPE_REGISTRY)
    db = client[f"dunning_contract_{uuid.uuid4().hex[:8]}"]
    outbox = Outbox(db, source="/services/dunning", topics=Topics("contract."), clock=ManualClock(NOW))

    async def staged() -> list[tuple[str, str]]:
        return [(row["type"], row["key"]) for row in await db.outbox.find().sort([("key", 1), ("seq", 1)]).to_list()]

    try:
        yield Ports(DunningMongoUnitOfWork(client=client, outbox=outbox, db=db), staged)
    finally:
        await client.drop_database(db.name)
        await client.close()


@pytest.fixture
def uow(ports: Ports) -> DunningUnitOfWork:
    return ports.uow


async def write(uow: DunningUnitOfWork, work: Any, tenant: str = "acme") -> Any:
    return await uow.run(work, flow=Flow(tenant))


def item(item_id: str, **kwargs: Any) -> ItemState:
    state = apply_snapshot(None, snapshot(item_id, **kwargs), scenario=SCENARIO, statuses=status_rules())
    assert state is not None
    return state


def record(record_id: str, *, client_id: str = "c1", due_on: date = DUE, outcome: StepOutcome = StepOutcome.SENT,
           agenda_on: date | None = None, at: datetime = NOW, base: str = "b1") -> StepRecord:
    return StepRecord(
        record_id=record_id, group_key=record_id, group_base=base, tenant_id="acme", client_id=client_id,
        scenario_code="standard", scenario_version=1, step_code="courtesy", step_name="Courtesy email",
        step_type=StepType.EMAIL, offset_days=-5, due_on=due_on, outcome=outcome, reason_code=Reason.STEP_DUE,
        reason="due", items=[RecordItem(item_id="i1", number="INV-i1", due_date=DUE, open_amount=100, currency="EUR",
                                        days_overdue=0)], agenda_on=agenda_on, recorded_at=at)


class TestScenarios:
    async def test_the_first_insert_wins_and_one_default_stays(self, uow: DunningUnitOfWork) -> None:
        gentle = SCENARIO.model_copy(update={"code": "gentle"})

        async def work(tx: Tx) -> list[bool]:
            return [await tx.scenarios.insert_scenario_if_missing(s, at=NOW) for s in (gentle, SCENARIO, gentle)]

        assert await write(uow, work) == [True, True, False]
        await write(uow, lambda tx: tx.scenarios.unset_default("acme", except_code="gentle"))
        read = uow.reading().scenarios
        assert [(s.code, s.is_default) for s in await read.scenarios_of("acme")] == [
            ("gentle", True), ("standard", False)]
        assert await read.tenants() == ["acme"] and await read.scenarios_of("other") == []
        assert await write(uow, lambda tx: tx.scenarios.delete_scenario("acme", "gentle")) is True
        assert await write(uow, lambda tx: tx.scenarios.delete_scenario("acme", "gentle")) is False
        assert await read.scenario("acme", "gentle") is None

    async def test_settings_keep_the_company_and_a_remap_mark_cleared_only_by_its_token(
        self, uow: DunningUnitOfWork
    ) -> None:
        read = uow.reading().scenarios
        assert await read.company("acme") is None and await read.remap_token("acme") is None
        await write(uow, lambda tx: tx.scenarios.save_company("acme", CompanyProfile(name="Acme SA")))
        await write(uow, lambda tx: tx.scenarios.mark_remap("acme", "t1"))
        await read.clear_remap("acme", "t0")  # an older save's token: the newer mark stays
        assert await read.remap_token("acme") == "t1"
        await read.clear_remap("acme", "t1")
        assert await read.remap_token("acme") is None
        company = await read.company("acme")
        assert company is not None and company.name == "Acme SA"


class TestClientsAndStatuses:
    async def test_clients_and_status_rules_are_kept_per_tenant(self, uow: DunningUnitOfWork) -> None:
        async def work(tx: Tx) -> None:
            for cid in ("c1", "c2"):
                await tx.clients.save_client("acme", client_state(cid))
            await tx.clients.save_client("other", client_state("c3"))
            await tx.clients.save_status("acme", status_rules(status_event())["price_dispute"])

        await write(uow, work)
        read = uow.reading().clients
        assert sorted(await read.clients_by_id("acme", ["c1", "c3", "c1"])) == ["c1"]
        assert sorted(await read.all_clients("acme")) == ["c1", "c2"]
        assert (await read.client("acme", "c2")) == client_state("c2")
        assert list(await read.status_rules("acme")) == ["price_dispute"] and await read.status_rules("other") == {}


class TestItems:
    async def test_items_are_found_by_client_status_and_due_position(self, uow: DunningUnitOfWork) -> None:
        items = [item("a", due=DUE), item("b", due=DUE + timedelta(days=10), status="price_dispute"),
                 item("c", client_id="c2", due=DUE - timedelta(days=3)),
                 item("z", due=DUE).model_copy(update={"next_step": "retired-step"})]
        await write(uow, lambda tx: tx.items.save_items("acme", items))
        read = uow.reading().items
        assert sorted(i.item_id for i in await read.items_of_client("acme", "c1")) == ["a", "b", "z"]
        assert [i.item_id for i in await read.items_with_status("acme", "price_dispute")] == ["b"]
        assert sorted(await read.items_by_id("acme", ["a", "c", "nope"])) == ["a", "c"]
        assert sorted(i.item_id for i in await read.due_items("acme", "standard", "courtesy", DUE)) == ["a", "c"]
        assert len(await read.due_items("acme", "standard", "courtesy", DUE, limit=1)) == 1
        between = await read.items_due_between("acme", SCENARIO, DUE - timedelta(days=1), DUE + timedelta(days=10))
        assert sorted(i.item_id for i in between) == ["a", "b"]  # not on an unknown step, not out of the window
        assert len(await read.all_items("acme")) == 4 and await read.all_items("other") == []

    async def test_positions_are_set_field_by_field(self, uow: DunningUnitOfWork) -> None:
        await write(uow, lambda tx: tx.items.save_items("acme", [item("a"), item("b")]))
        moved = item("a").model_copy(update={"next_step": "call", "scenario_code": "gentle", "number": "ignored"})
        await write(uow, lambda tx: tx.items.set_positions("acme", [moved]))
        stored = await uow.reading().items.items_by_id("acme", ["a", "b"])
        assert (stored["a"].next_step, stored["a"].scenario_code, stored["a"].number) == ("call", "gentle", "INV-a")
        assert stored["b"] == item("b")

    async def test_a_move_is_all_or_nothing_on_the_positions_as_read(self, uow: DunningUnitOfWork) -> None:
        await write(uow, lambda tx: tx.items.save_items("acme", [item("a"), item("b")]))
        read = await uow.reading().items.items_by_id("acme", ["a", "b"])
        await write(uow, lambda tx: tx.items.save_items("acme", [item("b", version=2)]))
        assert await write(uow, lambda tx: tx.items.move_items("acme", [(read["a"], MOVED), (read["b"], MOVED)])) \
            is False
        assert (await uow.reading().items.items_by_id("acme", ["a"]))["a"].next_step == "courtesy"
        fresh = await uow.reading().items.items_by_id("acme", ["a", "b"])
        assert await write(uow, lambda tx: tx.items.move_items("acme", [(fresh[i], MOVED) for i in "ab"])) is True
        moved = await uow.reading().items.items_by_id("acme", ["a", "b"])
        assert {(i.next_step, i.done_step, i.done_on, i.version) for i in moved.values()} == {
            ("first-reminder", "courtesy", date(2026, 2, 24), 1), ("first-reminder", "courtesy", date(2026, 2, 24), 2)}
        assert await write(uow, lambda tx: tx.items.move_items("acme", [])) is True

    async def test_a_remap_moves_only_items_still_as_read(self, uow: DunningUnitOfWork) -> None:
        await write(uow, lambda tx: tx.items.save_items("acme", [item("a"), item("b")]))
        read = await uow.reading().items.items_by_id("acme", ["a", "b"])
        await write(uow, lambda tx: tx.items.save_items("acme", [item("b", version=2)]))
        asked = await uow.reading().items.remap("acme", [(read["a"], "gentle", "call"), (read["b"], "gentle", "call")])
        stored = await uow.reading().items.items_by_id("acme", ["a", "b"])
        assert asked == 2
        assert [(stored[i].scenario_code, stored[i].next_step) for i in "ab"] == [
            ("gentle", "call"), ("standard", "courtesy")]


class TestActions:
    async def test_pending_actions_run_on_their_date_across_tenants(self, uow: DunningUnitOfWork) -> None:
        def state(action_id: str, on: date, tenant: str = "acme") -> tuple[str, Any]:
            snap = ActionSnapshot(action_id=action_id, client_id="c1", type=ActionType.EMAIL, name="Check",
                                  scheduled_for=on, automatic=True, item_ids=["i1"], version=1, changed_at=NOW)
            planned = plan_action(None, snap)
            assert planned is not None
            return tenant, planned

        states = [state("a1", DUE), state("a2", DUE + timedelta(days=2)), state("a3", DUE, tenant="other")]

        async def work(tx: Tx) -> None:
            for tenant, s in states:
                await tx.actions.save_action(tenant, s)

        await write(uow, work)
        read = uow.reading().actions
        assert sorted((t, s.action.action_id) for t, s in await read.actions_to_run(DUE, limit=10)) == [
            ("acme", "a1"), ("other", "a3")]
        assert [s.action.action_id for s in await read.actions_between("acme", DUE + timedelta(days=1),
                                                                           DUE + timedelta(days=5))] == ["a2"]
        assert await read.action("acme", "a3") is None and await read.action("other", "a3") == states[2][1]


class TestRecordsAndHistory:
    async def test_a_record_already_there_is_a_duplicate_and_the_unit_of_work_writes_nothing(
        self, uow: DunningUnitOfWork
    ) -> None:
        await write(uow, lambda tx: tx.records.insert_records([record("r1", base="b1")]))

        async def again(tx: Tx) -> None:
            await tx.items.save_items("acme", [item("a")])
            await tx.records.insert_records([record("r2", base="b1"), record("r1")])

        with pytest.raises(Duplicate):
            await write(uow, again)
        read = uow.reading()
        assert await read.records.record("acme", "r2") is None and await read.items.all_items("acme") == []
        assert await read.records.group_keys_used("acme", ["b1", "b2"]) == {"b1": {"r1"}}

    async def test_records_are_found_per_client_agenda_day_and_outcome(self, uow: DunningUnitOfWork) -> None:
        records = [record("r1", at=NOW), record("r2", at=NOW + timedelta(hours=1), outcome=StepOutcome.IN_AGENDA,
                                                agenda_on=DUE + timedelta(days=2)),
                   record("r3", client_id="c2", outcome=StepOutcome.SKIPPED, due_on=DUE + timedelta(days=1))]
        await write(uow, lambda tx: tx.records.insert_records(records))
        read = uow.reading().records
        assert [r.record_id for r in await read.records_of_client("acme", "c1", limit=5)] == ["r2", "r1"]
        assert [r.record_id for r in await read.records_of_client("acme", "c1", limit=1)] == ["r2"]
        assert [r.record_id for r in await read.agenda_records("acme", DUE, DUE + timedelta(days=3))] == ["r2"]
        assert [r.record_id for r in await read.records_between("acme", DUE, DUE + timedelta(days=3),
                                                                outcome="skipped")] == ["r3"]
        assert await read.record("other", "r1") is None
        await write(uow, lambda tx: tx.records.replace_record(records[1].model_copy(update={"agenda_on": DUE})))
        moved = await read.record("acme", "r2")
        assert moved is not None and moved.agenda_on == DUE

    async def test_a_history_entry_is_written_once_and_read_newest_first(self, uow: DunningUnitOfWork) -> None:
        def entry(entry_id: str, at: datetime, text: str, **ids: str) -> HistoryEntry:
            return HistoryEntry(entry_id=entry_id, tenant_id="acme", client_id="c1", kind="paused", text=text,
                                item_ids=["i1"], at=at, **ids)

        await write(uow, lambda tx: tx.records.add_history([entry("e1", NOW, "first", event_id="ev1")]))
        await write(uow, lambda tx: tx.records.add_history([
            entry("e1", NOW, "replayed", event_id="ev1"), entry("e2", NOW + timedelta(hours=1), "run", action_id="a1")]))
        history = await uow.reading().records.history_of_client("acme", "c1", limit=10)
        assert [(e.entry_id, e.text, e.event_id, e.action_id) for e in history] == [
            ("e2", "run", None, "a1"), ("e1", "first", "ev1", None)]


class TestPublisher:
    async def test_emails_go_before_the_records_and_outcomes_that_mention_them_keyed_by_client(
        self, ports: Ports
    ) -> None:
        email = email_request(idempotency_key="k1", purpose=EmailPurpose.ACTION, client=client_state("c1"), items=[],
                              statuses={}, variants=saved().templates[0].variants, default_language="fr",
                              company=CompanyProfile(name="Acme SA"), as_of=DUE,
                              action=RenderAction(action_id="a1", name="Check", type=ActionType.EMAIL,
                                                  scheduled_for=DUE))
        assert email is not None
        ran = ScheduledActionExecuted(client_id="c1", action_id="a1", action_version=1, scheduled_for=DUE,
                                      outcome=ActionRunOutcome.EXECUTED, reason="sent", item_ids=["i1"])

        async def work(tx: Tx) -> None:
            await tx.publisher.steps_recorded([record("r1"), record("r2", client_id="c2")], [email])
            await tx.publisher.action_executed(ran, email)

        await write(ports.uow, work)
        assert await ports.published() == [
            (EMAIL, "acme:c1"), ("arf.dunning.step-recorded.v1", "acme:c1"), (EMAIL, "acme:c1"),
            ("arf.dunning.action-executed.v1", "acme:c1"), ("arf.dunning.step-recorded.v1", "acme:c2")]

    async def test_a_unit_of_work_that_fails_publishes_nothing(self, ports: Ports) -> None:
        async def work(tx: Tx) -> None:
            await tx.publisher.steps_recorded([record("r1")], [])
            raise RuntimeError("stops before the commit")

        with pytest.raises(RuntimeError):
            await write(ports.uow, work)
        assert await ports.published() == []
