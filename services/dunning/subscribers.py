"""Which event goes to which dunning handler: one consumer group reading clients, items, statuses and
actions. Each handler runs in the consumer's transaction (which also records the event as handled),
adapted here from the consumer's context to the handler's (event, envelope, tx)."""

from services.dunning.handlers.actions import on_action_changed
from services.dunning.handlers.clients import on_client_upserted
from services.dunning.handlers.items import on_items_changed, on_status_defined
from services.dunning.ports import DunningUnitOfWork
from shared.contracts.actions import ActionChanged
from shared.contracts.receivables import ITEM_EVENTS, ClientUpserted, ItemStatusDefined
from shared.platform.clock import Clock
from shared.platform.runtime import ServiceRuntime
from shared.platform.unit_of_work import in_consumer_transaction

CONSUMER = "dunning"


def subscribe(runtime: ServiceRuntime, *, uow: DunningUnitOfWork, clock: Clock) -> None:
    """Register the dunning handlers on the service's consumer group."""
    router = runtime.event_router(CONSUMER)
    router.on(ClientUpserted, in_consumer_transaction(on_client_upserted, uow, clock=clock))
    for item_event in ITEM_EVENTS:
        router.on(item_event, in_consumer_transaction(on_items_changed, uow, clock=clock))
    router.on(ItemStatusDefined, in_consumer_transaction(on_status_defined, uow, clock=clock))
    router.on(ActionChanged, in_consumer_transaction(on_action_changed, uow, clock=clock))

