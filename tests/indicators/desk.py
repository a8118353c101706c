"""A credit manager's desk for the unit tests: send events to the real handlers over the in-memory
store (one at a time, or as one transaction's batch the way the platform hands them over), read the
KPIs the way the API derives them, and check them against a recompute."""

from collections.abc import Sequence

from datetime import UTC, datetime, timedelta
from typing import Any

from services.indicators import handlers
from services.indicators.domain.figures import AggregateKey, Figures
from services.indicators.domain.kpis import CurrencyKpis, currency_kpis
from shared.contracts.actions import ActionChanged
from shared.contracts.envelope import EventPayload
from shared.contracts.receivables import (
    ClientUpserted,
    ItemsClosed,
    ItemsDetached,
    ItemsReattached,
    ItemStatusChanged,
    ItemStatusDefined,
    ItemsUpserted,
)
from shared.platform.clock import ManualClock
from shared.platform.consumer import EventContext, TransactionScope
from tests.indicators.fakes import TENANT, InMemoryStore, context, transact_in_memory

# Their groups recount in transactions of their own: never part of a batch.
ONE_BY_ONE = (ClientUpserted, ItemStatusDefined)

START = datetime(2026, 11, 2, 9, tzinfo=UTC)


class Desk:
    def __init__(self, *, chunk_size: int = 2) -> None:
        self.store = InMemoryStore()
        self.clock = ManualClock(START)
        self.chunk_size = chunk_size  # small, so the unit tests go through several recount chunks

    async def send(self, payload: EventPayload, *, tenant_id: str = TENANT) -> None:
        await self._handle(payload, context(payload, tenant_id=tenant_id, time=self.clock.now()))

    async def send_batch(self, events: Sequence[EventPayload | tuple[EventPayload, str]]) -> None:
        """Hand the events (of tenant `acme`, or `(event, tenant)`) to their handlers in one transaction
        scope, then flush it once, as the platform does with a batch. Nothing skips a repeated event
        here: versions must."""
        scope = TransactionScope()
        for event in events:
            payload, tenant_id = event if isinstance(event, tuple) else (event, TENANT)
            assert not isinstance(payload, ONE_BY_ONE), f"{type(payload).__name__} is never batched"
            envelope = context(payload, tenant_id=tenant_id, time=self.clock.now()).envelope
            await self._handle(payload, EventContext(envelope, None, None, scope))
        await scope.flush()

    async def _handle(self, payload: EventPayload, ctx: EventContext) -> None:
        deps: dict[str, Any] = {"store": self.store, "clock": self.clock}
        recounting = {"transact": transact_in_memory, "chunk_size": self.chunk_size}
        match payload:
            case ItemsUpserted():
                await handlers.on_items_upserted(payload, ctx, **deps)
            case ItemsClosed():
                await handlers.on_items_closed(payload, ctx, **deps)
            case ItemStatusChanged():
                await handlers.on_item_status_changed(payload, ctx, **deps)
            case ItemsDetached():
                await handlers.on_items_detached(payload, ctx, **deps)
            case ItemsReattached():
                await handlers.on_items_reattached(payload, ctx, **deps)
            case ActionChanged():
                await handlers.on_action_changed(payload, ctx, **deps)
            case ClientUpserted():
                await handlers.on_client_upserted(payload, ctx, **deps, **recounting)
            case ItemStatusDefined():
                await handlers.on_status_defined(payload, ctx, **deps, **recounting)
            case _:
                raise AssertionError(f"no handler for {type(payload).__name__}")
        self.clock.advance(timedelta(minutes=1))

    def figures(self, scope: str = "client:c1", currency: str = "EUR") -> Figures:
        return self.store.figures().get(AggregateKey(scope, currency), Figures())

    def kpis(self, scope: str = "client:c1", currency: str = "EUR") -> CurrencyKpis:
        return currency_kpis(currency, self.figures(scope, currency), at=self.clock.now())

    def assert_equals_recompute(self) -> None:
        assert self.store.differences() == []
        assert self.store.history_sums() == self.store.figures()
