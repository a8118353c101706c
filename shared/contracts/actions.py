"""Events about specific actions and follow-ups: published by followups, executed by dunning."""

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field

from shared.contracts.envelope import EventPayload
from shared.contracts.topics import Stream
from shared.contracts.values import SYSTEM, ActionSnapshot, Actor, Identifier


class ActionChange(StrEnum):
    CREATED = "created"
    RENAMED = "renamed"
    RESCHEDULED = "rescheduled"
    REASSIGNED = "reassigned"
    ITEMS_ADDED = "items_added"
    ITEMS_REMOVED = "items_removed"
    CONTENT_CHANGED = "content_changed"
    CONFIRMED = "confirmed"
    EXECUTED = "executed"
    CLOSED = "closed"
    DELETED = "deleted"


class ActionChanged(EventPayload):
    """A specific action changed; `action` is its whole state after the change.

    Producer: followups. Consumers: dunning (agenda, execution on its date), indicators (open
    follow-ups, amount held).
    """

    event_type: ClassVar[str] = "arf.action.changed"
    stream: ClassVar[Stream] = Stream.ACTIONS

    change: ActionChange
    action: ActionSnapshot
    actor: Actor = SYSTEM
    before: dict[str, Any] = Field(default_factory=dict)
    after: dict[str, Any] = Field(default_factory=dict)

    @property
    def client_id(self) -> Identifier:
        return self.action.client_id
