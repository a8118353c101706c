"""Which event goes to which dunning handler: one consumer group reading clients, items, statuses and
actions. Each handler runs in the consumer's transaction (which also records the event as handled),
adapted here from the consumer's context to the handler's (event, envelope, tx)."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from services.dunning.handlers.actions import on_action_changed
from services.dunning.handlers.clients import on_client_upserted
from services.dunning.handlers.items import on_items_changed, on_status_defined
from services.dunning.ports import DunningUnitOfWork
from shared.contracts.actions import ActionChanged
from shared.contracts.envelope import EventPayload
from shared.contracts.receivables import ITEM_EVENTS, ClientUpserted, ItemStatusDefined
from shared.platform.clock import Clock
from shared.platform.consumer import EventContext
from shared.platform.runtime import ServiceRuntime

CONSUMER = "dunning"
E = TypeVar("E", bound=EventPayload)
# A handler `(event, envelope, tx, *, clock)`: typed loosely, each takes its own event class.
Handler = Callable[..., Awaitable[None]]


def subscribe(runtime: ServiceRuntime, *, uow: DunningUnitOfWork, clock: Clock) -> None:
    """Register the dunning handlers on the service's consumer group."""
    router = runtime.event_router(CONSUMER)
    router.on(ClientUpserted, _joined(on_client_upserted, uow, clock))
    for item_event in ITEM_EVENTS:
        router.on(item_event, _joined(on_items_changed, uow, clock))
    router.on(ItemStatusDefined, _joined(on_status_defined, uow, clock))
    router.on(ActionChanged, _joined(on_action_changed, uow, clock))


def _joined(handler: Handler, uow: DunningUnitOfWork, clock: Clock) -> Callable[[E, EventContext], Awaitable[None]]:
    """The handler on the consumer's transaction: its repositories and publisher bound to `ctx`."""

    async def on_event(event: E, ctx: EventContext) -> None:
        await handler(event, ctx.envelope, uow.joined(ctx), clock=clock)
    return on_event
