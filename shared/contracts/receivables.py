"""Events about clients, items, item statuses and holds, published by the follow-ups service.

Consumers: dunning (scenario state, pauses), indicators (KPIs), mailer (none: it gets all it needs
inside each email request).
"""

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field

from shared.contracts.envelope import EventPayload
from shared.contracts.topics import Stream
from shared.contracts.values import (
    SYSTEM,
    ActionType,
    Actor,
    Contact,
    Currency,
    Identifier,
    ItemSnapshot,
    LanguageCode,
    LatePenaltySettings,
    StatusCategory,
    UserRef,
)

# A Kafka message stays well under 1 MB: producers split larger selections into several events.
MAX_ITEMS_PER_EVENT = 500
ItemBatch = Annotated[list[ItemSnapshot], Field(min_length=1, max_length=MAX_ITEMS_PER_EVENT)]


class ClientUpserted(EventPayload):
    """A client was created or changed. Producer: followups. Consumers: dunning, indicators."""

    event_type: ClassVar[str] = "arf.client.upserted"
    stream: ClassVar[Stream] = Stream.CLIENTS

    client_id: Identifier
    number: str
    name: str
    entity_id: Identifier
    group_id: str | None = Field(default=None, description="The same customer across entities")
    language: LanguageCode
    currency: Currency
    collector: UserRef | None = None
    sales_manager: UserRef | None = None
    scenario_code: str | None = None
    dunning_excluded: bool = False
    contacts: list[Contact] = Field(default_factory=list)
    late_penalties: LatePenaltySettings | None = None
    version: int = Field(ge=1)


class ItemsUpserted(EventPayload):
    """Items of one client were created or changed (import, API). Producer: followups."""

    event_type: ClassVar[str] = "arf.items.upserted"
    stream: ClassVar[Stream] = Stream.ITEMS

    client_id: Identifier
    items: ItemBatch


class ItemsClosed(EventPayload):
    """Items of one client reached an open amount of 0 (paid, written off). Producer: followups."""

    event_type: ClassVar[str] = "arf.items.closed"
    stream: ClassVar[Stream] = Stream.ITEMS

    client_id: Identifier
    items: ItemBatch


class ItemStatusChanged(EventPayload):
    """Items of one client were given a status and/or a comment (change-status wizard, a link)."""

    event_type: ClassVar[str] = "arf.item-status.changed"
    stream: ClassVar[Stream] = Stream.ITEM_STATUSES

    client_id: Identifier
    status_code: str | None
    previous_status_codes: dict[str, str | None] = Field(default_factory=dict)
    comment: str | None = None
    actor: Actor = SYSTEM
    items: ItemBatch


class ItemStatusDefined(EventPayload):
    """An admin created or changed an item status. Consumers re-classify the items that carry it."""

    event_type: ClassVar[str] = "arf.status.defined"
    stream: ClassVar[Stream] = Stream.STATUS_DEFINITIONS

    code: Identifier
    labels: dict[LanguageCode, str]
    category: StatusCategory
    counts_as_dispute: bool
    takes_out_of_dunning: bool
    action_model: ActionType | None = None
    default_owner_id: str | None = None
    active: bool = True
    version: int = Field(ge=1)


class ReattachReason(StrEnum):
    REMOVED_FROM_ACTION = "removed_from_action"
    RESOLVED_STATUS = "resolved_status"
    ACTION_CLOSED = "action_closed"
    ACTION_DELETED = "action_deleted"
    ITEM_CLOSED = "item_closed"
    ACTION_EXECUTED = "action_executed"  # an automatic action went out on its date: it holds nothing any more


class ItemsDetached(EventPayload):
    """Items are now held by a specific action and leave the dunning scenario (rule 1)."""

    event_type: ClassVar[str] = "arf.items.detached"
    stream: ClassVar[Stream] = Stream.ITEM_HOLDS

    client_id: Identifier
    action_id: Identifier
    action_type: ActionType
    actor: Actor = SYSTEM
    items: ItemBatch


class ItemsReattached(EventPayload):
    """Items were released by their action and re-enter the dunning scenario (rules 3, 4)."""

    event_type: ClassVar[str] = "arf.items.reattached"
    stream: ClassVar[Stream] = Stream.ITEM_HOLDS

    client_id: Identifier
    action_id: Identifier
    reason: ReattachReason
    actor: Actor = SYSTEM
    items: ItemBatch


ItemEvent = ItemsUpserted | ItemsClosed | ItemStatusChanged | ItemsDetached | ItemsReattached
# The events that carry item snapshots (a consumer keeping per-item state subscribes to all of them).
ITEM_EVENTS: tuple[type[ItemEvent], ...] = (ItemsUpserted, ItemsClosed, ItemStatusChanged, ItemsDetached, ItemsReattached)
# Everything on the receivables streams: clients, items, and status definitions.
RECEIVABLE_EVENTS: tuple[type[EventPayload], ...] = (ClientUpserted, *ITEM_EVENTS, ItemStatusDefined)
