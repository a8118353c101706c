"""A credit manager's desk for the unit tests: send events through the service's own subscriptions
(`subscribers.routes`) to the real handlers over the in-memory store (one at a time, or as one
transaction's batch the way the platform hands them over), read the KPIs the way the API derives
them, and check them against a recompute."""

from collections.abc import Sequence

from datetime import UTC, datetime, timedelta

from services.indicators.config import IndicatorsSettings
from services.indicators.domain.figures import AggregateKey, Figures
from services.indicators.domain.kpis import CurrencyKpis, currency_kpis
from services.indicators.subscribers import routes
from shared.contracts.envelope import EventPayload
from shared.contracts.receivables import ClientUpserted, ItemStatusDefined
from shared.platform.clock import ManualClock
from shared.platform.consumer import EventContext, Handler, TransactionScope
from tests.indicators.fakes import TENANT, FakeUnitOfWork, InMemoryStore, context

# Their groups recount in transactions of their own: never part of a batch.
ONE_BY_ONE = (ClientUpserted, ItemStatusDefined)

START = datetime(2026, 11, 2, 9, tzinfo=UTC)


class Desk:
    def __init__(self, *, chunk_size: int = 2) -> None:
        self.store = InMemoryStore()
        self.uow = FakeUnitOfWork(self.store)
        self.clock = ManualClock(START)
        # a small recount chunk, so the unit tests go through several recount transactions
        settings = IndicatorsSettings(indicators_recount_chunk=chunk_size)
        self.handlers: dict[type[EventPayload], Handler] = {
            payload_cls: handler for payload_cls, handler, _ in routes(uow=self.uow, clock=self.clock,
                                                                       settings=settings)}

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
        await self.handlers[type(payload)](payload, ctx)
        self.clock.advance(timedelta(minutes=1))

    def figures(self, scope: str = "client:c1", currency: str = "EUR") -> Figures:
        return self.store.figures().get(AggregateKey(scope, currency), Figures())

    def kpis(self, scope: str = "client:c1", currency: str = "EUR") -> CurrencyKpis:
        return currency_kpis(currency, self.figures(scope, currency), at=self.clock.now())

    def assert_equals_recompute(self) -> None:
        assert self.store.differences() == []
        assert self.store.history_sums() == self.store.figures()
