"""The item and action events of one transaction applied together: one read per collection for the
whole batch, the handlers' rules applied in memory, one write per collection.

The platform hands the records of a batch to their handlers one by one, in one transaction, then
flushes the transaction scope once before the commit. A handler does no I/O there: it names what
its change will read (`Keys`) and stages the change. At the flush everything the batch names is
loaded in one query per collection into a `BufferedStore`, the staged changes are applied in
order against it (a later event on an item sees the earlier one's result, so versions still decide
what is newer), and the result is written once: each subject's last state, each aggregate's
differences summed, one history entry per change. The round trips of a batch do not depend on
how many events it holds.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from services.indicators.domain.facts import ClientFacts, CountedAction, CountedItem, StatusFacts
from services.indicators.ports import (
    Change,
    Counting,
    HeldAction,
    HeldItem,
    IndicatorStore,
    Keys,
    Recorded,
    Session,
    Stamp,
    TenantKey,
)
from shared.contracts.values import ActionSnapshot, ItemSnapshot
from shared.platform.consumer import EventContext, TransactionScope

V = TypeVar("V")
Apply = Callable[[Counting], Awaitable[None]]
SCOPE_KEY = "indicators.batch"


class BufferedStore:
    """`Counting` for one transaction: reads served from what was loaded (a miss asks the base store),
    changes kept in memory until `write`."""

    def __init__(self, base: IndicatorStore, session: Session) -> None:
        self.base, self.session = base, session
        self._items: dict[TenantKey, HeldItem | None] = {}
        self._actions: dict[TenantKey, HeldAction | None] = {}
        self._clients: dict[TenantKey, ClientFacts | None] = {}
        self._statuses: dict[TenantKey, StatusFacts | None] = {}
        self.recorded: list[Recorded] = []

    async def load(self, keys: Keys) -> None:
        """Load what `keys` names and is not buffered yet (one query per collection)."""
        missing = Keys(items=keys.items - self._items.keys(), actions=keys.actions - self._actions.keys(),
                       clients=keys.clients - self._clients.keys(), statuses=keys.statuses - self._statuses.keys())
        if not (missing.items or missing.actions or missing.clients or missing.statuses):
            return
        loaded = await self.base.load(missing, session=self.session)
        self._items.update({key: loaded.items.get(key) for key in missing.items})
        self._actions.update({key: loaded.actions.get(key) for key in missing.actions})
        self._clients.update({key: loaded.clients.get(key) for key in missing.clients})
        self._statuses.update({key: loaded.statuses.get(key) for key in missing.statuses})

    async def held_items(self, tenant_id: str, item_ids: Sequence[str], *, session: Session) -> dict[str, HeldItem]:
        await self.load(Keys(items={(tenant_id, item_id) for item_id in item_ids}))
        return _present(self._items, tenant_id, item_ids)

    async def held_actions(self, tenant_id: str, action_ids: Sequence[str], *,
                           session: Session) -> dict[str, HeldAction]:
        await self.load(Keys(actions={(tenant_id, action_id) for action_id in action_ids}))
        return _present(self._actions, tenant_id, action_ids)

    async def clients(self, tenant_id: str, client_ids: Sequence[str], *, session: Session) -> dict[str, ClientFacts]:
        await self.load(Keys(clients={(tenant_id, client_id) for client_id in client_ids}))
        return _present(self._clients, tenant_id, client_ids)

    async def statuses(self, tenant_id: str, codes: Sequence[str], *, session: Session) -> dict[str, StatusFacts]:
        await self.load(Keys(statuses={(tenant_id, code) for code in codes}))
        return _present(self._statuses, tenant_id, codes)

    async def record(self, tenant_id: str, changes: Sequence[Change], *, stamp: Stamp, session: Session) -> None:
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
            await self.base.record_many(self.recorded, session=self.session)
            await self.base.mark_facts_read(self._clients, self._statuses, session=self.session)


def _present(buffered: dict[TenantKey, V | None], tenant_id: str, ids: Sequence[str]) -> dict[str, V]:
    found: dict[str, V] = {}
    for one_id in ids:
        value = buffered.get((tenant_id, one_id))
        if value is not None:
            found[one_id] = value
    return found


class TransactionBatch:
    """The changes staged by the handlers of one transaction, applied and written at its flush."""

    def __init__(self, store: IndicatorStore, session: Session) -> None:
        self.store, self.session = store, session
        self.keys = Keys()
        self.staged: list[Apply] = []

    def stage(self, keys: Keys, apply: Apply) -> None:
        self.keys.add(keys)
        self.staged.append(apply)

    async def flush(self) -> None:
        buffer = BufferedStore(self.store, self.session)
        await buffer.load(self.keys)
        for apply in self.staged:
            await apply(buffer)
        await buffer.write()


def batch_of(scope: TransactionScope, store: IndicatorStore, session: Session) -> TransactionBatch:
    """The transaction's batch, opened (and its flush registered) by the first handler that stages."""

    def open_batch() -> TransactionBatch:
        batch = TransactionBatch(store, session)
        scope.on_flush(batch.flush)
        return batch

    return scope.state(SCOPE_KEY, open_batch)


async def in_transaction(ctx: EventContext, store: IndicatorStore, keys: Keys, apply: Apply) -> None:
    """Apply a change in the event's transaction: staged with the rest of its batch when the platform
    gives a transaction scope, at once otherwise (a handler called directly, e.g. by a unit test)."""
    if ctx.scope is None:
        await apply(store)
        return
    batch_of(ctx.scope, store, ctx.session).stage(keys, apply)
