"""Which event goes to which handler: the consumer groups of the indicators service.

Item and action events are counted in batches by ONE group (`indicators.changes`, one member
subscribed to their topics): the aggregates have a single writer, where four groups' long batch
transactions on the same tenant aggregate kept conflicting. The platform hands the events of one
transaction over one by one, then flushes the transaction's scope once before the commit: each
event is staged here, and at the flush the events go to their handler in order against a store
buffering the transaction, told what the whole batch will read: it loads that at the first read and
writes once (`adapters/batching.py`). Clients and status definitions recount in transactions of their own, in a
group per stream, so a long recount never holds up the item and action events.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from services.indicators.adapters.batching import BufferedStore, BufferedTx
from services.indicators.config import IndicatorsSettings
from services.indicators.handlers import changes, definitions
from services.indicators.ports import IndicatorsUnitOfWork, IndicatorStore, Keys
from shared.contracts.actions import ActionChanged
from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.receivables import ITEM_EVENTS, ClientUpserted, ItemStatusDefined
from shared.contracts.topics import Stream
from shared.platform.clock import Clock
from shared.platform.consumer import EventContext, EventRouter, Handler
from shared.platform.runtime import ServiceRuntime

CONSUMER = "indicators"
CHANGES = f"{CONSUMER}.changes"
# These recount many items in transactions of their own: each stream has a group of its own.
RECOUNTING = frozenset({Stream.CLIENTS, Stream.STATUS_DEFINITIONS})
SCOPE_KEY = "indicators.batch"

Route = tuple[type[EventPayload], Handler, bool]


def consumer_group(stream: Stream) -> str:
    """The consumer group reading a stream (for `make replay-dlq GROUP=…`): `indicators.changes` for
    the item and action streams, `indicators.<stream>` for clients and status definitions."""
    return f"{CONSUMER}.{stream.value}" if stream in RECOUNTING else CHANGES


@dataclass(frozen=True)
class Staged:
    """One event of a batch, waiting for its transaction's flush."""

    handler: Callable[..., Awaitable[None]]
    payload: EventPayload
    envelope: Envelope
    now: datetime  # when the event was delivered: its changes are stamped with it


@dataclass
class TransactionBatch:
    """The item and action events of one transaction, counted together at its flush."""

    store: IndicatorStore
    keys: Keys = field(default_factory=Keys)
    staged: list[Staged] = field(default_factory=list)

    def stage(self, staged: Staged) -> None:
        self.keys.add(changes.reads(staged.payload, staged.envelope.tenant_id))  # type: ignore[arg-type]
        self.staged.append(staged)

    async def flush(self) -> None:
        buffer = BufferedStore(self.store, expected=self.keys)
        tx = BufferedTx(buffer)
        for one in self.staged:
            await one.handler(one.payload, one.envelope, tx, now=one.now)
        await buffer.write()  # the batch's one write, just before the consumer commits


def _batch_of(ctx: EventContext, store: Callable[[], IndicatorStore]) -> TransactionBatch:
    """The transaction's batch, opened (and its flush registered) by its first event."""
    assert ctx.scope is not None
    scope = ctx.scope

    def open_batch() -> TransactionBatch:
        batch = TransactionBatch(store())
        scope.on_flush(batch.flush)
        return batch

    return scope.state(SCOPE_KEY, open_batch)


async def _counted(payload: EventPayload, ctx: EventContext, *, handler: Callable[..., Awaitable[None]],
                   uow: IndicatorsUnitOfWork, clock: Clock) -> None:
    """Stage an item or action event in its transaction's batch; without a transaction scope (an event
    delivered alone, offline), count it at once in the event's transaction."""
    staged = Staged(handler, payload, ctx.envelope, clock.now())
    if ctx.scope is None:
        await handler(payload, ctx.envelope, uow.joined(ctx), now=staged.now)
        return
    _batch_of(ctx, lambda: uow.joined(ctx).store).stage(staged)


async def _recounting(payload: EventPayload, ctx: EventContext, *, handler: Callable[..., Awaitable[None]],
                      uow: IndicatorsUnitOfWork, clock: Clock, chunk_size: int) -> None:
    """A client or status definition: its handler runs transactions of its own (not the consumer's)."""
    await handler(payload, ctx.envelope, uow=uow, clock=clock, chunk_size=chunk_size)


def routes(*, uow: IndicatorsUnitOfWork, clock: Clock, settings: IndicatorsSettings) -> list[Route]:
    """Per event type, the handler and whether it runs in the consumer's transaction."""
    counted = partial(partial, _counted, uow=uow, clock=clock)
    recounting = partial(partial, _recounting, uow=uow, clock=clock, chunk_size=settings.indicators_recount_chunk)
    return [
        *((item_event, counted(handler=changes.on_item_event), True) for item_event in ITEM_EVENTS),
        (ActionChanged, counted(handler=changes.on_action_changed), True),
        # These two recount in transactions of their own (groups of their own); versions make them idempotent.
        (ClientUpserted, recounting(handler=definitions.on_client_upserted), False),
        (ItemStatusDefined, recounting(handler=definitions.on_status_defined), False),
    ]


def subscribe(runtime: ServiceRuntime, *, uow: IndicatorsUnitOfWork, clock: Clock,
              settings: IndicatorsSettings) -> None:
    """Register the service's consumer groups and their handlers on the runtime."""
    routers: dict[str, EventRouter] = {}
    for payload_cls, handler, transactional in routes(uow=uow, clock=clock, settings=settings):
        group = consumer_group(payload_cls.stream)
        if group not in routers:
            batch_size = settings.indicators_batch_size if transactional else 1
            routers[group] = runtime.event_router(group, batch_size=batch_size)
        routers[group].on(payload_cls, handler, transactional=transactional)
