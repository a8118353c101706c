"""The item and action events of one transaction counted together: one read per collection for the
whole batch, the rules applied in memory, one write per collection.

`subscribers.py` stages the events of a transaction and, at its flush, hands them to their handlers
in order against a `BufferedStore` told what the whole batch will read: the first read loads all of
it (one query per collection), a later event on an item sees the earlier one's result (so versions
still decide what is newer), and the store then `write`s the result once: each subject's last state, each aggregate's differences
summed, one history entry per change. The round trips of a batch do not depend on how many events
it holds. This store calls nothing back: it only serves reads and keeps writes.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from services.indicators.domain.facts import ClientFacts, CountedAction, CountedItem, StatusFacts
from services.indicators.ports import (
    Change,
    HeldAction,
    HeldItem,
    IndicatorStore,
    Keys,
    Recorded,
    Stamp,
    TenantKey,
)
from shared.contracts.values import ActionSnapshot, ItemSnapshot

V = TypeVar("V")


class BufferedStore:
    """`Counting` for one transaction: reads served from what was loaded (a miss asks the base store),
    changes kept in memory until `write`. `expected` is what the whole batch will read: loaded with
    the first read, in one query per collection."""

    def __init__(self, base: IndicatorStore, expected: Keys | None = None) -> None:
        self.base = base
        self._expected = expected or Keys()
        self._items: dict[TenantKey, HeldItem | None] = {}
        self._actions: dict[TenantKey, HeldAction | None] = {}
        self._clients: dict[TenantKey, ClientFacts | None] = {}
        self._statuses: dict[TenantKey, StatusFacts | None] = {}
        self.recorded: list[Recorded] = []

    async def load(self, keys: Keys) -> None:
        """Load what `keys` names and is not buffered yet (one query per collection); the first load
        takes in everything the batch is expected to read."""
        keys.add(self._expected)
        self._expected = Keys()
        missing = Keys(items=keys.items - self._items.keys(), actions=keys.actions - self._actions.keys(),
                       clients=keys.clients - self._clients.keys(), statuses=keys.statuses - self._statuses.keys())
        if not (missing.items or missing.actions or missing.clients or missing.statuses):
            return
        loaded = await self.base.load(missing)
        self._items.update({key: loaded.items.get(key) for key in missing.items})
        self._actions.update({key: loaded.actions.get(key) for key in missing.actions})
        self._clients.update({key: loaded.clients.get(key) for key in missing.clients})
        self._statuses.update({key: loaded.statuses.get(key) for key in missing.statuses})

    async def held_items(self, tenant_id: str, item_ids: Sequence[str]) -> dict[str, HeldItem]:
        await self.load(Keys(items={(tenant_id, item_id) for item_id in item_ids}))
        return _present(self._items, tenant_id, item_ids)

    async def held_actions(self, tenant_id: str, action_ids: Sequence[str]) -> dict[str, HeldAction]:
        await self.load(Keys(actions={(tenant_id, action_id) for action_id in action_ids}))
        return _present(self._actions, tenant_id, action_ids)

    async def clients(self, tenant_id: str, client_ids: Sequence[str]) -> dict[str, ClientFacts]:
        await self.load(Keys(clients={(tenant_id, client_id) for client_id in client_ids}))
        return _present(self._clients, tenant_id, client_ids)

    async def statuses(self, tenant_id: str, codes: Sequence[str]) -> dict[str, StatusFacts]:
        await self.load(Keys(statuses={(tenant_id, code) for code in codes}))
        return _present(self._statuses, tenant_id, codes)

    async def record(self, tenant_id: str, changes: Sequence[Change], *, stamp: Stamp) -> None:
        for one in changes:
            key = (tenant_id, one.subject_id)
            if isinstance(one.snapshot, ItemSnapshot) and isinstance(one.after, CountedItem):
                self._items[key] = HeldItem(snapshot=one.snapshot, counted=one.after)
            elif isinstance(one.snapshot, ActionSnapshot) and isinstance(one.after, CountedAction):
                self._actions[key] = HeldAction(snapshot=one.snapshot, counted=one.after)
            else:
                raise TypeError(f"a change of {one.subject_kind} {one.subject_id} counted as {type(one.after)}")
            self.recorded.append(Recorded(tenant_id=tenant_id, change=one, stamp=stamp))

    async def write(self) -> None:
        if self.recorded:
            await self.base.record_many(self.recorded)
            await self.base.mark_facts_read(self._clients, self._statuses)


def _present(buffered: dict[TenantKey, V | None], tenant_id: str, ids: Sequence[str]) -> dict[str, V]:
    found: dict[str, V] = {}
    for one_id in ids:
        value = buffered.get((tenant_id, one_id))
        if value is not None:
            found[one_id] = value
    return found


@dataclass(frozen=True)
class BufferedTx:
    """Implements `Counts`: what an item or action event's handler sees inside a batch."""

    store: BufferedStore
