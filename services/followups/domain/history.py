"""History entries: every change of an action (and what matters at client level) with who, when, before/after.

One collection holds both: an action's history is its entries; a client's history is the entries marked
`client_level` (action created / closed / deleted, qualifications, emails outside actions, dunning steps).
The actor may be a user, a colleague acting from an interactive email (by address), or the system.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.values import Actor
from shared.identity import ordered_id


class EntryKind(StrEnum):
    CREATED = "created"
    RENAMED = "renamed"
    RESCHEDULED = "rescheduled"
    REASSIGNED = "reassigned"
    CONTENT_CHANGED = "content_changed"
    CONFIRMED = "confirmed"
    ITEMS_ADDED = "items_added"
    ITEMS_REMOVED = "items_removed"
    ITEM_STATUS_CHANGED = "item_status_changed"
    ITEMS_QUALIFIED = "items_qualified"  # client level: a status and/or comment on a selection of its items
    COMMENT_ADDED = "comment_added"
    ATTACHMENT_ADDED = "attachment_added"
    EMAIL_REQUESTED = "email_requested"
    EMAIL_DELIVERED = "email_delivered"
    EMAIL_FAILED = "email_failed"
    REPLY_RECEIVED = "reply_received"  # an automatic reply (out of office…): not a comment
    REPLY_REFUSED = "reply_refused"  # a reply through a revoked link, or to a closed action: nothing attached
    RESCHEDULE_PROPOSED = "reschedule_proposed"  # an out-of-office reply names a return date after the action's
    CONTACT_BOUNCED = "contact_bounced"  # client level: a hard bounce flagged a contact's address
    EXECUTED = "executed"  # an automatic action went out on its date (run by dunning): the action is done
    EXECUTION_SKIPPED = "execution_skipped"  # its date came but it could not go out: the reason says why
    EXECUTION_IGNORED = "execution_ignored"  # it went out for a date or state the action no longer has
    CLOSED = "closed"
    DELETED = "deleted"
    DUNNING_STEP = "dunning_step"


class HistoryEntry(BaseModel):
    """One line of history. `before` / `after` hold the values that changed; `data` anything else."""

    model_config = ConfigDict(extra="ignore")

    # Entries of one command (same timestamp) keep the order they were made in.
    entry_id: str = Field(default_factory=ordered_id)
    client_id: str
    action_id: str | None = None
    client_level: bool = False
    kind: EntryKind
    at: datetime
    actor: Actor
    before: dict[str, Any] = Field(default_factory=dict)
    after: dict[str, Any] = Field(default_factory=dict)
    text: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
