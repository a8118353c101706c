"""Replaying the whole event history into an empty dunning database yields the same state, whatever the
order across topics and however many times each event comes (per-item, per-client, per-action versions)."""

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.contracts.actions import ActionChange, ActionChanged
from shared.contracts.envelope import EventPayload
from shared.contracts.receivables import (
    ItemsClosed,
    ItemsDetached,
    ItemsReattached,
    ItemStatusChanged,
    ItemsUpserted,
    ReattachReason,
)
from shared.contracts.values import ActionSnapshot, ActionState, ActionType, StatusCategory
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation
from tests.dunning.builders import DUE, client_event, snapshot, status_event
from tests.dunning.conftest import START
from tests.dunning.harness import Dunning, running_dunning

VOLATILE = {"resumed"}  # the note on a resumption depends on which event came first; the position does not


def history() -> list[EventPayload]:
    """A tenant's life: statuses, clients changing, items held, released, closed, actions rescheduled."""
    moment = datetime(2026, 3, 1, tzinfo=UTC)

    def act(version: int, on: int, state: ActionState = ActionState.OPEN) -> ActionChanged:
        return ActionChanged(change=ActionChange.RESCHEDULED, action=ActionSnapshot(
            action_id="fu-1", client_id="c1", type=ActionType.FOLLOW_UP, name="Price dispute", state=state,
            scheduled_for=DUE + timedelta(days=on), item_ids=["c1-0"], version=version, changed_at=moment))

    events: list[EventPayload] = [
        status_event("price_dispute", category=StatusCategory.DISPUTE),
        status_event("promise_to_pay", category=StatusCategory.PROMISE),
        status_event("promise_to_pay", category=StatusCategory.PROMISE, takes_out=False, version=2),
    ]
    for c in range(4):
        cid = f"c{c}"
        events += [client_event(cid), ItemsUpserted(client_id=cid, items=[
            snapshot(f"{cid}-{i}", client_id=cid, version=1, due=DUE + timedelta(days=i * 7)) for i in range(5)])]
    events += [
        client_event("c2", version=2, excluded=True),
        client_event("c3", version=2, language="en"),
        ItemStatusChanged(client_id="c1", status_code="price_dispute",
                          items=[snapshot("c1-0", client_id="c1", version=2, status="price_dispute")]),
        ItemsDetached(client_id="c1", action_id="fu-1", action_type=ActionType.FOLLOW_UP,
                      items=[snapshot("c1-0", client_id="c1", version=3, status="price_dispute", held_by="fu-1")]),
        act(1, 10), act(2, 20),
        ItemsReattached(client_id="c1", action_id="fu-1", reason=ReattachReason.ACTION_CLOSED,
                        items=[snapshot("c1-0", client_id="c1", version=4, status="price_dispute")]),
        act(3, 20, ActionState.CLOSED),
        ItemsClosed(client_id="c0", items=[snapshot("c0-1", client_id="c0", version=2, open_amount="0")]),
        ItemStatusChanged(client_id="c3", status_code="promise_to_pay",
                          items=[snapshot("c3-2", client_id="c3", version=2, status="promise_to_pay")]),
        ItemsUpserted(client_id="c3", items=[snapshot("c3-3", client_id="c3", version=2, open_amount="40.00")]),
    ]
    return events


async def state_of(service: Dunning) -> dict[str, list[dict[str, Any]]]:
    state = {}
    for name in ("clients", "statuses", "items", "actions", "scenarios"):
        docs = await service.db[name].find({"tenant_id": service.tenant}, {"updated_at": 0}).sort("_id", 1).to_list()
        state[name] = [{k: v for k, v in doc.items() if k not in VOLATILE} for doc in docs]
    return state


class TestReplay:
    async def test_replaying_the_history_shuffled_and_twice_into_an_empty_database_yields_the_same_state(
        self, infra: Infrastructure, public_key: Path, token_for: Callable[..., str]
    ) -> None:
        async with running_dunning(infra, Isolation.new(), public_key, token_for, start=START) as live:
            envelopes = await live.send(*history())
            await live.settle()
            original = await state_of(live)
        replayed_order = [*envelopes, *envelopes]
        random.Random(7).shuffle(replayed_order)
        async with running_dunning(infra, Isolation.new(), public_key, token_for, start=START) as empty:
            await empty.feed.send_envelopes(replayed_order)
            await empty.settle(count=len(envelopes))
            replayed = await state_of(empty)
        assert len(original["items"]) == 20 and len(original["actions"]) == 1
        assert replayed == original
        items = {doc["item_id"]: doc for doc in original["items"]}
        assert items["c0-1"]["closed"] and items["c0-1"]["next_step"] is None
        assert items["c1-0"]["held_by_action_id"] is None and items["c1-0"]["next_step"] == "courtesy"
        assert items["c3-3"]["open_amount"] == items["c3-3"]["open_amount"].__class__("40.00")
