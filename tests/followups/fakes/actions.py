"""Actions, their history, qualifications, email requests and attachment records in memory."""

import copy
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from services.followups.domain.actions import Action
from services.followups.domain.history import HistoryEntry
from services.followups.ports import AlreadyRecorded
from tests.followups.fakes.state import State, of_tenant, page_of


class FakeActions:
    def __init__(self, state: State) -> None:
        self.state = state

    async def get(self, tenant_id: str, action_id: str) -> Action | None:
        return self.state.actions.get((tenant_id, action_id))

    async def many(self, tenant_id: str, action_ids: Sequence[str]) -> dict[str, Action]:
        return {a: self.state.actions[(tenant_id, a)] for a in action_ids if (tenant_id, a) in self.state.actions}

    async def save(self, tenant_id: str, action: Action) -> None:
        self.state.actions[(tenant_id, action.action_id)] = action

    async def search(self, tenant_id: str, *, client_id: str | None, owner_id: str | None, state: str | None,
                     action_type: str | None, date_from: date | None, date_to: date | None, skip: int,
                     limit: int) -> list[dict[str, Any]]:
        found = [a for a in of_tenant(self.state.actions, tenant_id)
                 if (client_id is None or a.client_id == client_id)
                 and (owner_id is None or (a.owner is not None and a.owner.user_id == owner_id))
                 and (state is None or a.state == state) and (action_type is None or a.type == action_type)
                 and (date_from is None or a.scheduled_for >= date_from)
                 and (date_to is None or a.scheduled_for <= date_to)]
        found.sort(key=lambda a: (a.scheduled_for, a.action_id))
        return [{**a.model_dump(exclude={"item_ids", "content"}), "item_count": len(a.item_ids)}
                for a in page_of(found, skip, limit)]


class FakeHistory:
    def __init__(self, state: State) -> None:
        self.state = state

    async def add(self, tenant_id: str, entries: Sequence[HistoryEntry]) -> None:
        for entry in entries:
            self.state.history[(tenant_id, entry.entry_id)] = entry

    def _sorted(self, tenant_id: str, keep: Callable[[HistoryEntry], bool], *, newest_first: bool
                ) -> list[HistoryEntry]:
        found = [e for e in of_tenant(self.state.history, tenant_id) if keep(e)]
        return sorted(found, key=lambda e: (e.at, e.entry_id), reverse=newest_first)

    async def of_action(self, tenant_id: str, action_id: str, *, skip: int = 0, limit: int = 500
                        ) -> list[HistoryEntry]:
        return page_of(self._sorted(tenant_id, lambda e: e.action_id == action_id, newest_first=False), skip, limit)

    async def latest(self, tenant_id: str, action_id: str, kind: str) -> HistoryEntry | None:
        found = self._sorted(tenant_id, lambda e: e.action_id == action_id and e.kind == kind, newest_first=True)
        return found[0] if found else None

    async def of_client(self, tenant_id: str, client_id: str, *, skip: int = 0, limit: int = 500
                        ) -> list[HistoryEntry]:
        entries = self._sorted(tenant_id, lambda e: e.client_id == client_id and e.client_level, newest_first=True)
        return page_of(entries, skip, limit)


class FakeQualifications:
    def __init__(self, state: State) -> None:
        self.state = state

    async def add(self, tenant_id: str, record: dict[str, Any]) -> None:
        self.state.qualifications[(tenant_id, record["qualification_id"])] = copy.deepcopy(record)

    def _touching(self, tenant_id: str, client_id: str, item_ids: set[str]) -> list[dict[str, Any]]:
        found = [r for r in of_tenant(self.state.qualifications, tenant_id)
                 if r["client_id"] == client_id and item_ids & set(r["item_ids"])]
        return [copy.deepcopy(r) for r in sorted(found, key=lambda r: r["at"])]

    async def of_item(self, tenant_id: str, client_id: str, item_id: str) -> list[dict[str, Any]]:
        history = []
        for record in self._touching(tenant_id, client_id, {item_id}):
            before = record["previous_status_codes"][record["item_ids"].index(item_id)]
            history.append({"at": record["at"], "actor": record["actor"], "status_before": before,
                            "status_after": record.get("status_code") or before, "comment": record.get("comment"),
                            "action_id": record.get("action_id")})
        return history

    async def of_items(self, tenant_id: str, client_id: str, item_ids: Sequence[str]) -> list[dict[str, Any]]:
        return self._touching(tenant_id, client_id, set(item_ids))


class FakeEmails:
    def __init__(self, state: State) -> None:
        self.state = state

    async def add(self, tenant_id: str, records: Sequence[dict[str, Any]]) -> None:
        for record in records:
            self.state.emails[(tenant_id, record["request_id"])] = copy.deepcopy(record)

    async def get(self, tenant_id: str, request_id: str) -> dict[str, Any] | None:
        found = self.state.emails.get((tenant_id, request_id))
        return copy.deepcopy(found) if found else None

    async def record_outcome(self, tenant_id: str, request_id: str, *, state: str, at: datetime,
                             details: dict[str, Any]) -> None:
        if (tenant_id, request_id) in self.state.emails:
            old = self.state.emails[(tenant_id, request_id)]
            self.state.emails[(tenant_id, request_id)] = {**old, "state": state, "outcome_at": at,
                                                          "outcome": copy.deepcopy(details)}

    async def of_action(self, tenant_id: str, action_id: str) -> list[dict[str, Any]]:
        found = [r for r in of_tenant(self.state.emails, tenant_id) if r.get("action_id") == action_id]
        return [copy.deepcopy(r) for r in sorted(found, key=lambda r: r["requested_at"])]


class FakeAttachments:
    def __init__(self, state: State) -> None:
        self.state = state

    async def record(self, tenant_id: str, record: dict[str, Any]) -> None:
        if (tenant_id, record["attachment_id"]) in self.state.attachments:
            raise AlreadyRecorded(f"attachment {record['attachment_id']}")
        self.state.attachments[(tenant_id, record["attachment_id"])] = dict(record)

    async def get(self, tenant_id: str, attachment_id: str) -> dict[str, Any] | None:
        found = self.state.attachments.get((tenant_id, attachment_id))
        return dict(found) if found else None

    async def of_action(self, tenant_id: str, action_id: str) -> list[dict[str, Any]]:
        found = [r for r in of_tenant(self.state.attachments, tenant_id) if r["action_id"] == action_id]
        return [{k: v for k, v in r.items() if k != "file_id"} for r in sorted(found, key=lambda r: r["uploaded_at"])]
