"""Property: whatever the order, duplicates included, the incremental figures end equal to a recompute.

Hypothesis writes a history of one tenant (item upserts, status changes, holds and releases,
payments, status (re)definitions, client reassignments, follow-ups), then delivers its events in
any order with redeliveries mixed in: per-item versions must make the outcome independent of both.
The same holds when the events come in batches of any size (one transaction each, applied at its
flush), redeliveries and older versions inside a batch included.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.indicators.domain.facts import ClientFacts, StatusFacts, count_action, count_item
from services.indicators.domain.figures import AggregateKey, Figures
from services.indicators.domain.rebuild import compare, rebuild
from shared.contracts.actions import ActionChange, ActionChanged
from shared.contracts.envelope import EventPayload
from shared.contracts.receivables import (
    ClientUpserted,
    ItemsClosed,
    ItemsDetached,
    ItemsReattached,
    ItemStatusChanged,
    ItemStatusDefined,
    ItemsUpserted,
    ReattachReason,
)
from shared.contracts.values import ActionSnapshot, ActionState, ActionType, ItemSnapshot, StatusCategory, UserRef
from tests.indicators.desk import ONE_BY_ONE, Desk
from tests.indicators.fakes import action

ITEM_CLIENT = {"i1": "c1", "i2": "c1", "i3": "c1", "i4": "c2", "i5": "c2"}
CODES = ["dispute", "promise", "resolved", "unknown"]
T0 = datetime(2026, 10, 1, tzinfo=UTC)
amounts = st.sampled_from(["0", "10.50", "99.99", "250", "1000", "-40"])


@dataclass
class History:
    """The truth, as the follow-ups service would see it, and the events it published."""

    items: dict[str, ItemSnapshot] = field(default_factory=dict)
    clients: dict[str, ClientUpserted] = field(default_factory=dict)
    statuses: dict[str, ItemStatusDefined] = field(default_factory=dict)
    actions: dict[str, ActionSnapshot] = field(default_factory=dict)
    events: list[EventPayload] = field(default_factory=list)

    def next_item(self, item_id: str, **changes: object) -> ItemSnapshot:
        held = self.items.get(item_id)
        base = held.model_dump() if held else dict(
            item_id=item_id, client_id=ITEM_CLIENT[item_id], number=item_id, issue_date=date(2026, 9, 1),
            due_date=date(2026, 10, 1), amount=Decimal(100), open_amount=Decimal(100), currency="EUR", version=0)
        snapshot = ItemSnapshot.model_validate({**base, **changes, "version": base["version"] + 1,
                                                "changed_at": T0 + timedelta(hours=len(self.events))})
        self.items[item_id] = snapshot
        return snapshot


@st.composite
def histories(draw: st.DrawFn) -> History:
    history = History()
    for _ in range(draw(st.integers(min_value=1, max_value=30))):
        step = draw(st.sampled_from(["upsert", "status", "pay", "hold", "release", "define", "client", "action"]))
        item_ids = draw(st.lists(st.sampled_from(sorted(ITEM_CLIENT)), min_size=1, max_size=2, unique=True))
        item_ids = [i for i in item_ids if ITEM_CLIENT[i] == ITEM_CLIENT[item_ids[0]]]
        client_id = ITEM_CLIENT[item_ids[0]]
        if step == "upsert":
            snaps = [history.next_item(i, open_amount=Decimal(draw(amounts)), amount=Decimal(draw(amounts)),
                                       currency=draw(st.sampled_from(["EUR", "EUR", "USD"])),
                                       due_date=draw(st.sampled_from([date(2026, 9, 30), date(2026, 12, 1)])))
                     for i in item_ids]
            history.events.append(ItemsUpserted(client_id=client_id, items=snaps))
        elif step == "status":
            code = draw(st.sampled_from(CODES))
            since = T0 + timedelta(days=draw(st.integers(0, 20)))
            snaps = [history.next_item(i, status_code=code, status_since=since) for i in item_ids]
            history.events.append(ItemStatusChanged(client_id=client_id, status_code=code, items=snaps))
        elif step == "pay":
            snaps = [history.next_item(i, open_amount=Decimal(0)) for i in item_ids]
            history.events.append(ItemsClosed(client_id=client_id, items=snaps))
        elif step == "hold":
            kind = draw(st.sampled_from([ActionType.FOLLOW_UP, ActionType.TASK]))
            snaps = [history.next_item(i, held_by_action_id="a1", held_by_action_type=kind) for i in item_ids]
            history.events.append(ItemsDetached(client_id=client_id, action_id="a1", action_type=kind, items=snaps))
        elif step == "release":
            snaps = [history.next_item(i, held_by_action_id=None, held_by_action_type=None) for i in item_ids]
            history.events.append(ItemsReattached(client_id=client_id, action_id="a1",
                                                  reason=ReattachReason.REMOVED_FROM_ACTION, items=snaps))
        elif step == "define":
            code = draw(st.sampled_from(CODES[:3]))
            version = history.statuses[code].version + 1 if code in history.statuses else 1
            defined = ItemStatusDefined(code=code, labels={"en": code}, category=draw(st.sampled_from(StatusCategory)),
                                        counts_as_dispute=draw(st.booleans()), takes_out_of_dunning=True,
                                        version=version)
            history.statuses[code] = defined
            history.events.append(defined)
        elif step == "client":
            client_id = draw(st.sampled_from(["c1", "c2"]))
            collector = draw(st.sampled_from(["anna", "bob", None]))
            version = history.clients[client_id].version + 1 if client_id in history.clients else 1
            upserted = ClientUpserted(
                client_id=client_id, number=client_id, name=client_id, entity_id=draw(st.sampled_from(["fr", "de"])),
                group_id=draw(st.sampled_from(["g1", None])), language="fr", currency="EUR", version=version,
                collector=UserRef(user_id=collector, name=collector, email=f"{collector}@x.example")
                if collector else None)
            history.clients[client_id] = upserted
            history.events.append(upserted)
        else:
            action_id = draw(st.sampled_from(["f1", "f2"]))
            version = history.actions[action_id].version + 1 if action_id in history.actions else 1
            snapshot = action(action_id, version=version, client_id="c1" if action_id == "f1" else "c2",
                              type=draw(st.sampled_from([ActionType.FOLLOW_UP, ActionType.CALL])),
                              state=draw(st.sampled_from([ActionState.OPEN, ActionState.CLOSED])))
            history.actions[action_id] = snapshot
            history.events.append(ActionChanged(change=ActionChange.CONTENT_CHANGED, action=snapshot))
    return history


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[History, list[EventPayload]]:
    """A history, and its events in any order, some delivered twice or three times."""
    history = draw(histories())
    order = draw(st.permutations(history.events))
    repeats = draw(st.lists(st.sampled_from(history.events), max_size=6))
    delivered = list(order)
    for event in repeats:
        delivered.insert(draw(st.integers(0, len(delivered))), event)
    return history, delivered


def truth(history: History) -> dict[AggregateKey, Figures]:
    """The aggregates computed straight from the final truth, without the service's stored state."""
    clients = {c: ClientFacts.of(e) for c, e in history.clients.items()}
    statuses = {c: StatusFacts.of(e) for c, e in history.statuses.items()}
    counted = [count_item(s, client=clients.get(s.client_id), status=statuses.get(s.status_code or ""))
               for s in history.items.values()]
    counted += [count_action(a, client=clients.get(a.client_id)) for a in history.actions.values()]
    return rebuild(counted)


async def deliver(events: list[EventPayload]) -> Desk:
    desk = Desk()
    for event in events:
        await desk.send(event)
    return desk


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries())
def test_any_order_with_redeliveries_ends_with_incremental_equal_to_recompute(
    delivery: tuple[History, list[EventPayload]],
) -> None:
    history, delivered = delivery
    desk = asyncio.run(deliver(delivered))
    store = desk.store
    assert store.differences() == []
    assert compare(store.figures(), truth(history)) == []
    assert store.history_sums() == store.figures()
    assert {i: h.snapshot for (_, i), h in store.items.items()} == history.items


@st.composite
def batched_deliveries(draw: st.DrawFn) -> tuple[History, list[list[EventPayload]]]:
    """A delivery cut into batches of any size; client and status definitions (their own consumer
    groups, one event at a time) stand alone between them."""
    history, delivered = draw(deliveries())
    batches: list[list[EventPayload]] = []
    for event in delivered:
        alone = isinstance(event, ONE_BY_ONE)
        if alone or not batches or isinstance(batches[-1][0], ONE_BY_ONE) or draw(st.integers(0, 3)) == 0:
            batches.append([event])
        else:
            batches[-1].append(event)
    return history, batches


async def deliver_in_batches(batches: list[list[EventPayload]]) -> Desk:
    desk = Desk()
    for batch in batches:
        if isinstance(batch[0], ONE_BY_ONE):
            await desk.send(batch[0])
        else:
            await desk.send_batch(batch)
    return desk


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batched_deliveries())
def test_delivered_in_batches_the_incremental_figures_still_equal_a_recompute(
    delivery: tuple[History, list[list[EventPayload]]],
) -> None:
    history, batches = delivery
    desk = asyncio.run(deliver_in_batches(batches))
    store = desk.store
    assert store.differences() == []
    assert compare(store.figures(), truth(history)) == []
    assert store.history_sums() == store.figures()
    assert {i: h.snapshot for (_, i), h in store.items.items()} == history.items
    assert {a: h.snapshot for (_, a), h in store.actions.items()} == history.actions
