"""The changes one command makes to items and actions, collected in memory and written once.

Each step (qualify, hold, release, an action operation) bumps the touched items' versions and records its
event, so one request that qualifies 10 000 items and puts them in a follow-up writes each item once,
publishes one event per 500 items and per step, and every event carries the snapshot of its own step.
"""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from shared.contracts.receivables import ReattachReason
from shared.contracts.values import Actor, ItemSnapshot
from services.followups.domain import actions as act
from services.followups.domain import items as rules
from services.followups.domain.actions import Action, Changed
from services.followups.domain.history import EntryKind, HistoryEntry
from services.followups.domain.links import LinkRecord
from services.followups.domain.statuses import ItemStatus
from services.followups.handlers.context import new_id
from services.followups.ports import Events, Tx

Publication = Callable[[Events], Awaitable[None]]


class Changes:
    """What one command changes, in memory until `save(tx)` writes it and publishes its events in order."""

    def __init__(self, *, tenant_id: str, actor: Actor, now: datetime) -> None:
        self.tenant_id = tenant_id
        self.actor = actor
        self.now = now
        self.publications: list[Publication] = []
        self.items: dict[str, ItemSnapshot] = {}
        self.new_items: set[str] = set()
        self.changed_items: set[str] = set()
        self.actions: dict[str, Action] = {}
        self.entries: list[HistoryEntry] = []
        self.qualifications: list[dict[str, Any]] = []
        self.emails: list[dict[str, Any]] = []
        self.links: list[LinkRecord] = []

    # -- items --

    def track(self, items: Iterable[ItemSnapshot]) -> None:
        for item in items:
            self.items.setdefault(item.item_id, item)

    def current(self, item_ids: Iterable[str]) -> list[ItemSnapshot]:
        return [self.items[item_id] for item_id in item_ids]

    def put(self, item: ItemSnapshot, *, new: bool = False) -> None:
        self.items[item.item_id] = item
        (self.new_items if new else self.changed_items).add(item.item_id)

    def _apply(self, item_ids: Sequence[str], change: Callable[[ItemSnapshot], ItemSnapshot]) -> list[ItemSnapshot]:
        updated = [change(self.items[item_id]) for item_id in item_ids]
        for item in updated:
            self.put(item, new=item.item_id in self.new_items)
        return updated

    def qualify(self, client_id: str, item_ids: Sequence[str], *, status: ItemStatus | None, comment: str | None,
                action_id: str | None = None) -> None:
        """Step 1 of the wizard: a status and/or a comment, recorded in the items' own history."""
        previous = {item.item_id: item.status_code for item in self.current(item_ids)}
        code = status.code if status else None
        updated = self._apply(item_ids, lambda item: rules.qualify(item, status_code=code, now=self.now))
        self.publish(lambda events: events.item_status_changed(
            client_id, updated, status_code=code, previous=previous, comment=comment, actor=self.actor))
        self.qualifications.append({
            "qualification_id": new_id(), "client_id": client_id, "item_ids": list(item_ids), "status_code": code,
            "previous_status_codes": [previous[item_id] for item_id in item_ids], "comment": comment,
            "actor": self.actor.model_dump(), "at": self.now,
            "action_id": action_id,
        })
        self.note(HistoryEntry(client_id=client_id, client_level=True, kind=EntryKind.ITEMS_QUALIFIED, at=self.now,
                               actor=self.actor, text=comment, data={
                                   "status_code": code, "item_count": len(item_ids), "item_ids": list(item_ids),
                                   "action_id": action_id}))

    def hold(self, action: Action, item_ids: Sequence[str]) -> None:
        updated = self._apply(item_ids, lambda item: rules.hold(item, action_id=action.action_id,
                                                                action_type=action.type, now=self.now))
        self.publish(lambda events: events.items_detached(
            action.client_id, updated, action_id=action.action_id, action_type=action.type, actor=self.actor))

    def release(self, action: Action, item_ids: Sequence[str], reason: ReattachReason,
                actor: Actor | None = None) -> None:
        held = [item_id for item_id in item_ids if self.items[item_id].held_by_action_id == action.action_id]
        if not held:
            return
        updated = self._apply(held, lambda item: rules.release(item, now=self.now))
        by = actor or self.actor
        self.publish(lambda events: events.items_reattached(action.client_id, updated, action_id=action.action_id,
                                                            reason=reason, actor=by))

    # -- actions --

    def action(self, action_id: str, loaded: Action) -> Action:
        """The action as this command has changed it so far."""
        return self.actions.get(action_id, loaded)

    def changed(self, change: Changed | None) -> Action | None:
        if change is None:
            return None
        self.actions[change.action.action_id] = change.action
        self.entries.append(change.entry)
        event = change.event
        self.publish(lambda events: events.action_changed(event))
        return change.action

    def publish(self, publication: Publication) -> None:
        """An event to publish when the changes are saved, after those recorded before it."""
        self.publications.append(publication)

    def note(self, entry: HistoryEntry) -> None:
        self.entries.append(entry)

    def remove_from_action(self, action: Action, item_ids: Sequence[str], reason: ReattachReason) -> Action:
        """Rules 3 and 4: items leave the action and re-enter the scenario."""
        action = self.action(action.action_id, action)
        changed = self.changed(act.remove_items(action, list(item_ids), reason=reason.value, actor=self.actor,
                                                now=self.now))
        assert changed is not None
        self.release(changed, item_ids, reason)
        return changed

    def end_action(self, change: Changed, held: Sequence[ItemSnapshot], reason: ReattachReason) -> None:
        """Close or delete: the items the action still holds go back to the scenario."""
        action = self.changed(change)
        assert action is not None
        self.track(held)
        self.release(action, [item.item_id for item in held], reason, actor=change.event.actor)

    def qualify_held_items(self, holders: dict[str, Action], status: ItemStatus | None, comment: str | None,
                           item_ids: Sequence[str]) -> None:
        """A status change on items an action holds shows in that action's history; a resolved status
        takes them out of it (rule 3)."""
        by_action: dict[str, list[str]] = {}
        for item in self.current(item_ids):
            if item.held_by_action_id in holders:
                by_action.setdefault(item.held_by_action_id, []).append(item.item_id)
        for action_id, ids in by_action.items():
            action = self.action(action_id, holders[action_id])
            self.note(act.note(action, EntryKind.ITEM_STATUS_CHANGED, actor=self.actor, now=self.now, text=comment,
                               data={"item_ids": ids, "status_code": status.code if status else None}))
            if status is not None and status.resolves:
                self.remove_from_action(action, ids, ReattachReason.RESOLVED_STATUS)

    # -- writing --

    async def save(self, tx: Tx) -> None:
        tenant = self.tenant_id
        if self.new_items:
            await tx.items.insert(tenant, self.current(sorted(self.new_items)))
        changed = sorted(self.changed_items - self.new_items)
        if changed:
            await tx.items.save(tenant, self.current(changed))
        for action in self.actions.values():
            await tx.actions.save(tenant, action)
        await tx.history.add(tenant, self.entries)
        for record in self.qualifications:
            await tx.qualifications.add(tenant, record)
        await tx.emails.add(tenant, self.emails)
        await tx.links.add(tenant, self.links)
        for publication in self.publications:
            await publication(tx.events)
