"""Specific actions and follow-ups: their state, how each operation changes them, and its history entry.

Every operation returns a `Changed`: the action after it (version + 1), the `ActionChanged` event that
carries the whole snapshot, and the history entry with who, when, before and after.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints

from shared.contracts.actions import ActionChange, ActionChanged
from shared.contracts.values import (
    SYSTEM,
    ActionContent,
    ActionSnapshot,
    ActionState,
    ActionType,
    Actor,
    UserRef,
)
from services.followups.domain.errors import ActionNotOpen, Invalid
from services.followups.domain.history import EntryKind, HistoryEntry
from services.followups.domain.templates import check_variants

ActionName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SENDABLE = frozenset({ActionType.EMAIL, ActionType.LETTER, ActionType.SMS})


class Action(ActionSnapshot):
    """A specific action as stored: its published snapshot, and who created it when. It holds its open items
    while it is open (rule 1)."""

    created_at: datetime
    created_by: Actor
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.state == ActionState.OPEN

    def require_open(self) -> None:
        if not self.is_open:
            raise ActionNotOpen(self.action_id, str(self.state))

    def snapshot(self) -> ActionSnapshot:
        return ActionSnapshot(**{name: getattr(self, name) for name in ActionSnapshot.model_fields})


class ActionDraft(BaseModel):
    """A new action's settings once its source (scratch, status model, copy, template) is resolved."""

    type: ActionType
    name: ActionName
    scheduled_for: date
    owner: UserRef | None = None
    automatic: bool = False
    to_be_confirmed: bool = False
    content: ActionContent | None = None


def check_draft(draft: ActionDraft, *, today: date) -> None:
    """The rules every new action follows; raises Invalid with the first one broken."""
    if draft.scheduled_for < today:
        raise Invalid(f"scheduled_for {draft.scheduled_for} is in the past (today is {today})", code="date_in_past")
    if draft.type == ActionType.FOLLOW_UP and draft.owner is None:
        raise Invalid("a follow-up needs a resolution owner: give owner_id", code="owner_required")
    if draft.automatic and draft.type not in SENDABLE:
        raise Invalid(f"a {draft.type} action cannot run automatically: only email, letter and SMS can",
                      code="not_automatable")
    check_content(draft.type, draft.content, automatic=draft.automatic)


def check_content(action_type: ActionType, content: ActionContent | None, *, automatic: bool) -> None:
    if content is not None and content.variants:
        check_variants(content.variants, field="content.variants", allow_internal=False)
    if not automatic:
        return
    if content is None or not content.variants:
        raise Invalid(f"an automatic {action_type} needs its text: give content.variants or a template",
                      code="content_required")
    if action_type == ActionType.EMAIL and not content.recipients:
        raise Invalid("an automatic email needs recipients (the client has no contact with an email address)",
                      code="recipients_required")


@dataclass(frozen=True)
class Changed:
    action: Action
    event: ActionChanged
    entry: HistoryEntry


def _changed(action: Action, change: ActionChange, kind: EntryKind, *, actor: Actor, now: datetime,
             update: dict[str, Any], before: dict[str, Any], after: dict[str, Any], client_level: bool = False,
             data: dict[str, Any] | None = None, text: str | None = None) -> Changed:
    new = action.model_copy(update={**update, "version": action.version + 1, "changed_at": now})
    return _record(new, change, kind, actor=actor, now=now, before=before, after=after, client_level=client_level,
                   data=data, text=text)


def _record(action: Action, change: ActionChange, kind: EntryKind, *, actor: Actor, now: datetime,
            before: dict[str, Any], after: dict[str, Any], client_level: bool, data: dict[str, Any] | None,
            text: str | None) -> Changed:
    before, after = _jsonable(before), _jsonable(after)
    event = ActionChanged(change=change, action=action.snapshot(), actor=actor, before=before, after=after)
    entry = HistoryEntry(client_id=action.client_id, action_id=action.action_id, client_level=client_level,
                         kind=kind, at=now, actor=actor, before=before, after=after, data=data or {}, text=text)
    return Changed(action, event, entry)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value.model_dump(mode="json") if isinstance(value, BaseModel) else
            value.isoformat() if isinstance(value, date) else value for key, value in values.items()}


def create(draft: ActionDraft, *, action_id: str, client_id: str, item_ids: list[str], actor: Actor,
           now: datetime, origin: dict[str, Any]) -> Changed:
    """A new open action holding `item_ids`; `origin` says where its settings came from (wizard, copy…)."""
    action = Action(action_id=action_id, client_id=client_id, item_ids=item_ids, version=1, changed_at=now,
                    created_at=now, created_by=actor, **draft.model_dump())
    return _record(action, ActionChange.CREATED, EntryKind.CREATED, actor=actor, now=now, before={},
                   after={"name": draft.name, "type": draft.type, "scheduled_for": draft.scheduled_for,
                          "owner": draft.owner, "item_count": len(item_ids)},
                   client_level=True, data={"origin": origin}, text=None)


def rename(action: Action, name: str, *, actor: Actor, now: datetime) -> Changed | None:
    action.require_open()
    if name == action.name:
        return None
    return _changed(action, ActionChange.RENAMED, EntryKind.RENAMED, actor=actor, now=now, update={"name": name},
                    before={"name": action.name}, after={"name": name})


def reschedule(action: Action, scheduled_for: date, *, today: date, actor: Actor, now: datetime) -> Changed | None:
    action.require_open()
    if scheduled_for < today:
        raise Invalid(f"scheduled_for {scheduled_for} is in the past (today is {today})", code="date_in_past")
    if scheduled_for == action.scheduled_for:
        return None
    return _changed(action, ActionChange.RESCHEDULED, EntryKind.RESCHEDULED, actor=actor, now=now,
                    update={"scheduled_for": scheduled_for}, before={"scheduled_for": action.scheduled_for},
                    after={"scheduled_for": scheduled_for})


def reassign(action: Action, owner: UserRef, *, actor: Actor, now: datetime) -> Changed | None:
    action.require_open()
    if action.owner and action.owner.user_id == owner.user_id:
        return None
    return _changed(action, ActionChange.REASSIGNED, EntryKind.REASSIGNED, actor=actor, now=now,
                    update={"owner": owner}, before={"owner": action.owner}, after={"owner": owner})


def change_content(action: Action, *, content: ActionContent | None, automatic: bool, to_be_confirmed: bool,
                   actor: Actor, now: datetime) -> Changed | None:
    action.require_open()
    if automatic and action.type not in SENDABLE:
        raise Invalid(f"a {action.type} action cannot run automatically: only email, letter and SMS can",
                      code="not_automatable")
    check_content(action.type, content, automatic=automatic)
    before = {"content": action.content, "automatic": action.automatic, "to_be_confirmed": action.to_be_confirmed}
    after = {"content": content, "automatic": automatic, "to_be_confirmed": to_be_confirmed}
    if _jsonable(before) == _jsonable(after):
        return None
    return _changed(action, ActionChange.CONTENT_CHANGED, EntryKind.CONTENT_CHANGED, actor=actor, now=now,
                    update=after, before=before, after=after)


def confirm(action: Action, *, actor: Actor, now: datetime) -> Changed:
    action.require_open()
    if not action.to_be_confirmed:
        raise Invalid(f"action {action.action_id} does not wait for a confirmation", code="not_to_be_confirmed")
    return _changed(action, ActionChange.CONFIRMED, EntryKind.CONFIRMED, actor=actor, now=now,
                    update={"to_be_confirmed": False}, before={"to_be_confirmed": True},
                    after={"to_be_confirmed": False})


def add_items(action: Action, item_ids: list[str], *, actor: Actor, now: datetime) -> Changed:
    action.require_open()
    return _changed(action, ActionChange.ITEMS_ADDED, EntryKind.ITEMS_ADDED, actor=actor, now=now,
                    update={"item_ids": [*action.item_ids, *item_ids]},
                    before={"item_count": len(action.item_ids)},
                    after={"item_count": len(action.item_ids) + len(item_ids)}, data={"item_ids": item_ids})


def remove_items(action: Action, item_ids: list[str], *, reason: str, actor: Actor, now: datetime) -> Changed:
    removed = set(item_ids)
    kept = [item_id for item_id in action.item_ids if item_id not in removed]
    return _changed(action, ActionChange.ITEMS_REMOVED, EntryKind.ITEMS_REMOVED, actor=actor, now=now,
                    update={"item_ids": kept}, before={"item_count": len(action.item_ids)},
                    after={"item_count": len(kept)}, data={"item_ids": item_ids, "reason": reason})


def close(action: Action, *, resolution_note: str | None, actor: Actor, now: datetime) -> Changed:
    """The explicit end of a case (rule 8); a follow-up says how it was resolved."""
    action.require_open()
    if action.type == ActionType.FOLLOW_UP and not resolution_note:
        raise Invalid("closing a follow-up needs a resolution_note", code="resolution_note_required")
    return _changed(action, ActionChange.CLOSED, EntryKind.CLOSED, actor=actor, now=now,
                    update={"state": ActionState.CLOSED, "resolution_note": resolution_note, "closed_at": now},
                    before={"state": action.state}, after={"state": ActionState.CLOSED}, client_level=True,
                    text=resolution_note)


def execute(action: Action, *, executed_version: int, email_request_id: str | None, confirmed_by: str | None,
            reason: str, now: datetime) -> Changed:
    """An automatic action went out on its date (dunning ran it): it is done and holds its items no more."""
    action.require_open()
    return _changed(action, ActionChange.EXECUTED, EntryKind.EXECUTED, actor=SYSTEM, now=now,
                    update={"state": ActionState.DONE, "closed_at": now}, before={"state": action.state},
                    after={"state": ActionState.DONE}, client_level=True, text=reason,
                    data={"scheduled_for": action.scheduled_for.isoformat(), "executed_version": executed_version,
                          "email_request_id": email_request_id, "confirmed_by": confirmed_by})


def delete(action: Action, *, reason: str, actor: Actor, now: datetime, automatic: bool = False) -> Changed:
    """Deleted by hand, or by the system when all its items closed (rule 7)."""
    action.require_open()
    return _changed(action, ActionChange.DELETED, EntryKind.DELETED, actor=actor, now=now,
                    update={"state": ActionState.DELETED, "closed_at": now}, before={"state": action.state},
                    after={"state": ActionState.DELETED}, client_level=True,
                    data={"automatic": automatic, "reason": reason})


def note(action: Action, kind: EntryKind, *, actor: Actor, now: datetime, text: str | None = None,
         data: dict[str, Any] | None = None, before: dict[str, Any] | None = None,
         after: dict[str, Any] | None = None, client_level: bool = False) -> HistoryEntry:
    """A history entry that does not change the action's snapshot (comment, attachment, email, reply)."""
    return HistoryEntry(client_id=action.client_id, action_id=action.action_id, kind=kind, at=now, actor=actor,
                        text=text, data=data or {}, before=_jsonable(before or {}), after=_jsonable(after or {}),
                        client_level=client_level)

