"""The publisher port and the unit of work: state and the events it causes commit together (outbox).

Handlers call domain-named methods on `Events` (`items_detached(...)`); only this module knows envelopes,
keys and batching. Every event about a client is keyed `tenant:client`, so they stay in order.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

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
from shared.platform.consumer import EventContext
from shared.platform.mongo import run_in_transaction
from shared.platform.outbox import Outbox
from services.followups.domain.items import batches
from services.followups.domain.statuses import ItemStatus

T = TypeVar("T")
PUBLISHED: tuple[type[EventPayload], ...] = (
    *RECEIVABLE_EVENTS, ActionChanged, EmailRequested,
)


@dataclass
class Events:
    """Events a command causes, collected in order; staged in the command's transaction."""

    pending: list[tuple[EventPayload, str]] = field(default_factory=list)

    def _add(self, payload: EventPayload, key_id: str) -> None:
        self.pending.append((payload, key_id))

    def client_upserted(self, event: ClientUpserted) -> None:
        self._add(event, event.client_id)

    def status_defined(self, status: ItemStatus) -> None:
        self._add(status.defined_event(), f"status:{status.code}")

    def items_upserted(self, client_id: str, items: Sequence[ItemSnapshot]) -> None:
        for batch in batches(items):
            self._add(ItemsUpserted(client_id=client_id, items=batch), client_id)

    def items_closed(self, client_id: str, items: Sequence[ItemSnapshot]) -> None:
        for batch in batches(items):
            self._add(ItemsClosed(client_id=client_id, items=batch), client_id)

    def item_status_changed(self, client_id: str, items: Sequence[ItemSnapshot], *, status_code: str | None,
                            previous: dict[str, str | None], comment: str | None, actor: Actor) -> None:
        for batch in batches(items):
            self._add(ItemStatusChanged(
                client_id=client_id, status_code=status_code, comment=comment, actor=actor, items=batch,
                previous_status_codes={item.item_id: previous.get(item.item_id) for item in batch}), client_id)

    def items_detached(self, client_id: str, items: Sequence[ItemSnapshot], *, action_id: str,
                       action_type: ActionType, actor: Actor) -> None:
        for batch in batches(items):
            self._add(ItemsDetached(client_id=client_id, action_id=action_id, action_type=action_type, actor=actor,
                                    items=batch), client_id)

    def items_reattached(self, client_id: str, items: Sequence[ItemSnapshot], *, action_id: str,
                         reason: ReattachReason, actor: Actor) -> None:
        for batch in batches(items):
            self._add(ItemsReattached(client_id=client_id, action_id=action_id, reason=reason, actor=actor,
                                      items=batch), client_id)

    def action_changed(self, event: ActionChanged) -> None:
        self._add(event, event.action.client_id)

    def email_requested(self, event: EmailRequested) -> None:
        self._add(event, event.client_id)


@dataclass
class Tx:
    """What a command's work gets: the transaction's session and the events it collects."""

    session: AsyncClientSession
    events: Events


class UnitOfWork:
    """Runs a command's work in one MongoDB transaction and stages its events in the same transaction."""

    def __init__(self, *, client: AsyncMongoClient, outbox: Outbox) -> None:
        self.client = client
        self.outbox = outbox

    async def run(self, work: Callable[[Tx], Awaitable[T]], *, tenant_id: str, correlation_id: str | None) -> T:
        async def attempt(session: AsyncClientSession) -> T:
            tx = Tx(session=session, events=Events())  # fresh per attempt: a retried transaction starts clean
            result = await work(tx)
            envelopes = [self.outbox.envelope(payload, tenant_id=tenant_id, key_id=key_id,
                                              correlation_id=correlation_id)
                         for payload, key_id in tx.events.pending]
            await self.outbox.stage(session, envelopes)
            return result

        result = await run_in_transaction(self.client, attempt)
        self.outbox.notify_committed()
        return result


async def stage_from(ctx: EventContext, events: Events) -> None:
    """A consumer's follow-on events, staged in the transaction that records the event as handled."""
    for payload, key_id in events.pending:
        await ctx.stage(payload, key_id=key_id)
