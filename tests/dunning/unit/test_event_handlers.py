"""The event handlers' rules on fakes: a client's scenario or exclusion, a status redefined, a specific
action kept once per version, scenarios saved moving items to valid steps, and a replayed history."""

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.dunning.domain.default_scenario import default_scenario
from services.dunning.domain.state import ItemState
from services.dunning.handlers.actions import on_action_changed
from services.dunning.handlers.clients import on_client_upserted
from services.dunning.handlers.items import on_items_changed, on_status_defined
from services.dunning.handlers.scenarios import create_scenario, delete_scenario
from services.dunning.ports import Tx
from shared.contracts.actions import ActionChange, ActionChanged
from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.receivables import ItemsUpserted
from shared.contracts.values import ActionSnapshot, ActionType
from shared.platform.clock import ManualClock
from shared.ports import Flow
from tests.dunning.builders import DUE, TENANT, client_event, saved, snapshot, status_event
from tests.dunning.conftest import START
from tests.dunning.fakes import DunningState, FakeUnitOfWork
from tests.dunning.integration.test_replay import VOLATILE, history
from tests.dunning.offline import offline_dunning

CLOCK = ManualClock(START)
GENTLE_DRAFT = default_scenario().model_copy(update={"code": "gentle", "name": "Gentle", "is_default": False})
GENTLE = saved(GENTLE_DRAFT)


def envelope(payload: EventPayload) -> Envelope:
    key = getattr(payload, "client_id", None) or f"status:{getattr(payload, 'code', '')}"
    return Envelope.wrap(payload, tenant_id=TENANT, key_id=key, source="/services/followups")


async def handle(uow: FakeUnitOfWork, handler: Callable[..., Any], *payloads: EventPayload) -> None:
    """Each event in its own unit of work, as the consumer's transaction would run it."""
    for payload in payloads:
        async def work(tx: Tx, payload: EventPayload = payload) -> None:
            await handler(payload, envelope(payload), tx, clock=CLOCK)

        await uow.run(work, flow=Flow(TENANT))


def items(uow: FakeUnitOfWork) -> dict[str, ItemState]:
    return {item_id: item for (_, item_id), item in uow.state.items.items()}


def with_scenarios() -> FakeUnitOfWork:
    state = DunningState()
    state.scenarios[(TENANT, "standard")] = saved()
    state.scenarios[(TENANT, "gentle")] = GENTLE
    return FakeUnitOfWork(state)


async def past_courtesy(uow: FakeUnitOfWork, **client: Any) -> None:
    """Client c1 with items a and b, the courtesy email done and (as while paused) the reminder passed."""
    await handle(uow, on_client_upserted, client_event("c1", **client))
    await handle(uow, on_items_changed, ItemsUpserted(client_id="c1", items=[snapshot("a"), snapshot("b")]))
    for key, item in list(uow.state.items.items()):
        uow.state.items[key] = item.model_copy(update={"done_step": "courtesy", "done_offset": -5, "next_step": "call"})


class TestClients:
    async def test_a_client_moved_to_another_scenario_takes_its_items_there_after_their_last_step(self) -> None:
        uow = with_scenarios()
        await past_courtesy(uow)
        await handle(uow, on_client_upserted, client_event("c1", version=2, scenario_code="gentle"))
        assert {(i.scenario_code, i.next_step) for i in items(uow).values()} == {("gentle", "first-reminder")}

    async def test_lifting_an_exclusion_lets_the_items_back_and_the_history_says_so(self) -> None:
        uow = with_scenarios()
        await past_courtesy(uow, excluded=True)
        await handle(uow, on_client_upserted, client_event("c1", version=2))
        assert {i.next_step for i in items(uow).values()} == {"first-reminder"}
        assert [e.text for e in uow.state.history.values()] == ["client excluded from dunning", "client in dunning"]

    async def test_an_older_client_event_changes_nothing(self) -> None:
        uow = with_scenarios()
        await handle(uow, on_client_upserted, client_event("c1", version=2, language="en"),
                     client_event("c1", version=1, excluded=True))
        client = uow.state.clients[(TENANT, "c1")]
        assert (client.version, client.language, client.dunning_excluded) == (2, "en", False)


class TestStatuses:
    async def test_a_status_that_no_longer_takes_items_out_lets_them_back_in_the_flow(self) -> None:
        uow = with_scenarios()
        await handle(uow, on_status_defined, status_event("price_dispute"))
        await past_courtesy(uow)
        await handle(uow, on_items_changed, ItemsUpserted(client_id="c1", items=[
            snapshot("a", version=2, status="price_dispute")]))
        for key, item in list(uow.state.items.items()):
            uow.state.items[key] = item.model_copy(update={"next_step": "call"})
        await handle(uow, on_status_defined, status_event("price_dispute", takes_out=False, version=2))
        assert {i: s.next_step for i, s in items(uow).items()} == {"a": "first-reminder", "b": "call"}
        await handle(uow, on_status_defined, status_event("price_dispute", version=1))  # older: changes nothing
        assert not uow.state.statuses[(TENANT, "price_dispute")].takes_out_of_dunning


class TestActions:
    async def test_an_action_is_kept_once_per_version(self) -> None:
        def changed(version: int, days: int) -> ActionChanged:
            return ActionChanged(change=ActionChange.RESCHEDULED, action=ActionSnapshot(
                action_id="a1", client_id="c1", type=ActionType.EMAIL, name="Check", automatic=True,
                scheduled_for=DUE + timedelta(days=days), item_ids=["a"], version=version,
                changed_at=datetime(2026, 3, 1, tzinfo=UTC)))

        uow = FakeUnitOfWork()
        await handle(uow, on_action_changed, changed(2, 5), changed(1, 1), changed(2, 9))
        state = uow.state.actions[(TENANT, "a1")]
        assert (state.action.version, state.run_on, state.run_state.value) == (2, DUE + timedelta(days=5), "pending")


class TestScenarioSaves:
    async def test_deleting_a_scenario_moves_its_clients_items_to_the_default_one_after_their_last_step(self) -> None:
        uow = FakeUnitOfWork()
        await create_scenario(TENANT, GENTLE_DRAFT, uow=uow, clock=CLOCK)
        await past_courtesy(uow, scenario_code="gentle")
        assert {i.scenario_code for i in items(uow).values()} == {"gentle"}
        await delete_scenario(TENANT, "gentle", uow=uow, clock=CLOCK)
        assert {(i.scenario_code, i.next_step) for i in items(uow).values()} == {("standard", "first-reminder")}
        assert "remap_token" not in uow.state.settings[TENANT]


class TestReplay:
    async def test_replaying_the_history_shuffled_and_twice_yields_the_same_state(
        self, public_key: Path, token_for: Callable[..., str]
    ) -> None:
        async with offline_dunning(public_key, token_for, start=START) as live:
            envelopes = await live.send(*history())
            original = state_of(live.uow.state)
        replayed = [*envelopes, *envelopes]
        random.Random(7).shuffle(replayed)
        async with offline_dunning(public_key, token_for, start=START) as empty:
            for one in replayed:
                for router in empty.app.state.runtime.routers:
                    await router.deliver(one)
            assert state_of(empty.uow.state) == original
        assert len(original["items"]) == 20 and len(original["actions"]) == 1


def state_of(state: DunningState) -> dict[str, list[Any]]:
    return {name: sorted(((key, value.model_dump(exclude=VOLATILE if name == "items" else set()))
                          for key, value in getattr(state, name).items()), key=lambda kv: kv[0])
            for name in ("clients", "statuses", "items", "actions", "scenarios")}
