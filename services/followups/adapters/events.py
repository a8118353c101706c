"""The publisher: domain-named methods staging this service's events through the unit of work's `Outgoing`.

Only this module knows payload classes, keys and batching. Every event about a client is keyed
`tenant:client`, so they stay in order; a status's definition is keyed by its code.
"""

from collections.abc import Sequence

from shared.contracts.actions import ActionChanged
from shared.contracts.email import EmailRequested
from shared.contracts.envelope import EventPayload
from shared.contracts.receivables import (
    ClientUpserted,
    ItemsClosed,
    ItemsDetached,
    ItemsReattached,
    ItemStatusChanged,
    ItemsUpserted,
    RECEIVABLE_EVENTS,
    ReattachReason,
)
from shared.contracts.values import ActionType, Actor, ItemSnapshot
from shared.ports import Outgoing
from services.followups.domain.items import batches
from services.followups.domain.statuses import ItemStatus

PUBLISHED: tuple[type[EventPayload], ...] = (
    *RECEIVABLE_EVENTS, ActionChanged, EmailRequested,
)


class OutboxEvents:
    """The `Events` port over a unit of work's `Outgoing` (the outbox in MongoDB, a list in the fakes)."""

    def __init__(self, outgoing: Outgoing) -> None:
        self._outgoing = outgoing

    async def _add(self, payload: EventPayload, key_id: str) -> None:
        await self._outgoing.stage(payload, key_id=key_id)

    async def client_upserted(self, event: ClientUpserted) -> None:
        await self._add(event, event.client_id)

    async def status_defined(self, status: ItemStatus) -> None:
        await self._add(status.defined_event(), f"status:{status.code}")

    async def items_upserted(self, client_id: str, items: Sequence[ItemSnapshot]) -> None:
        for batch in batches(items):
            await self._add(ItemsUpserted(client_id=client_id, items=batch), client_id)

    async def items_closed(self, client_id: str, items: Sequence[ItemSnapshot]) -> None:
        for batch in batches(items):
            await self._add(ItemsClosed(client_id=client_id, items=batch), client_id)

    async def item_status_changed(self, client_id: str, items: Sequence[ItemSnapshot], *, status_code: str | None,
                                  previous: dict[str, str | None], comment: str | None, actor: Actor) -> None:
        for batch in batches(items):
            await self._add(ItemStatusChanged(
                client_id=client_id, status_code=status_code, comment=comment, actor=actor, items=batch,
                previous_status_codes={item.item_id: previous.get(item.item_id) for item in batch}), client_id)

    async def items_detached(self, client_id: str, items: Sequence[ItemSnapshot], *, action_id: str,
                             action_type: ActionType, actor: Actor) -> None:
        for batch in batches(items):
            await self._add(ItemsDetached(client_id=client_id, action_id=action_id, action_type=action_type,
                                          actor=actor, items=batch), client_id)

    async def items_reattached(self, client_id: str, items: Sequence[ItemSnapshot], *, action_id: str,
                               reason: ReattachReason, actor: Actor) -> None:
        for batch in batches(items):
            await self._add(ItemsReattached(client_id=client_id, action_id=action_id, reason=reason, actor=actor,
                                            items=batch), client_id)

    async def action_changed(self, event: ActionChanged) -> None:
        await self._add(event, event.action.client_id)

    async def email_requested(self, event: EmailRequested) -> None:
        await self._add(event, event.client_id)
