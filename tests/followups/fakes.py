"""In-memory implementations of every followups port, held to the same contract tests as the MongoDB
adapters (tests/followups/contracts/). One `State` holds every collection; the unit of work
(`tests/support/memory.py`) copies it before each run, so a failing command leaves it as it was."""

import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import count
from typing import Any, TypeVar

from pydantic import BaseModel

from shared.contracts.email import AttachmentRef
from shared.contracts.values import Actor, ItemSnapshot
from services.followups.adapters.attachments import READ_CHUNK, check_content
from services.followups.adapters.events import OutboxEvents
from services.followups.domain.actions import Action
from services.followups.domain.errors import TooLarge, Unreachable, UnsupportedType
from services.followups.domain.history import HistoryEntry
from services.followups.domain.links import LinkRecord
from services.followups.domain.parties import Client, TenantSettings, User
from services.followups.domain.statuses import ItemStatus
from services.followups.domain.templates import ActionTemplate
from services.followups.ports import Adapters, AlreadyRecorded, StoredFile
from tests.support.memory import MemoryOutgoing, MemoryUnitOfWork

M = TypeVar("M", bound=BaseModel)
Key = tuple[str, str]  # (tenant, key): what the `_id` of a MongoDB document stands for


@dataclass
class State:
    """Every collection of the followups database, as dictionaries keyed like their `_id`s."""

    clients: dict[Key, Client] = field(default_factory=dict)
    items: dict[Key, ItemSnapshot] = field(default_factory=dict)
    users: dict[Key, User] = field(default_factory=dict)
    statuses: dict[Key, ItemStatus] = field(default_factory=dict)
    templates: dict[Key, ActionTemplate] = field(default_factory=dict)
    tenants: dict[str, TenantSettings] = field(default_factory=dict)
    actions: dict[Key, Action] = field(default_factory=dict)
    history: dict[Key, HistoryEntry] = field(default_factory=dict)
    qualifications: dict[Key, dict[str, Any]] = field(default_factory=dict)
    emails: dict[Key, dict[str, Any]] = field(default_factory=dict)
    attachments: dict[Key, dict[str, Any]] = field(default_factory=dict)
    links: dict[Key, LinkRecord] = field(default_factory=dict)
    forms: set[tuple[str, str, str]] = field(default_factory=set)
    posts: dict[tuple[str, str, int], int] = field(default_factory=dict)
    replies: dict[Key, dict[str, Any]] = field(default_factory=dict)


def _of(table: dict[Key, M], tenant_id: str) -> list[M]:
    return [value for (tenant, _), value in table.items() if tenant == tenant_id]


def _page(values: list[Any], skip: int, limit: int) -> list[Any]:
    return values[skip:skip + limit]


class FakeClients:
    def __init__(self, state: State) -> None:
        self.state = state

    async def get(self, tenant_id: str, client_id: str) -> Client | None:
        return self.state.clients.get((tenant_id, client_id))

    async def many(self, tenant_id: str, client_ids: Sequence[str]) -> dict[str, Client]:
        return {c: self.state.clients[(tenant_id, c)] for c in client_ids if (tenant_id, c) in self.state.clients}

    async def save_all(self, tenant_id: str, clients: Sequence[Client], *, created: set[str]) -> None:
        for client in clients:
            self.state.clients[(tenant_id, client.client_id)] = client

    async def page(self, tenant_id: str, *, collector_id: str | None, skip: int, limit: int) -> list[Client]:
        found = [c for c in _of(self.state.clients, tenant_id) if not collector_id or c.collector_id == collector_id]
        return _page(sorted(found, key=lambda c: (c.name, c.client_id)), skip, limit)


class FakeItems:
    def __init__(self, state: State) -> None:
        self.state = state

    async def by_ids(self, tenant_id: str, item_ids: Sequence[str]) -> dict[str, ItemSnapshot]:
        return {i: self.state.items[(tenant_id, i)] for i in item_ids if (tenant_id, i) in self.state.items}

    async def of_client(self, tenant_id: str, client_id: str, *, open_only: bool = False) -> list[ItemSnapshot]:
        return [item for item in _of(self.state.items, tenant_id)
                if item.client_id == client_id and not (open_only and item.closed)]

    async def select(self, tenant_id: str, client_id: str, item_ids: Sequence[str]) -> dict[str, ItemSnapshot]:
        return await self.by_ids(tenant_id, item_ids)

    async def held_by(self, tenant_id: str, client_id: str, action_id: str) -> list[ItemSnapshot]:
        return [item for item in await self.of_client(tenant_id, client_id) if item.held_by_action_id == action_id]

    async def insert(self, tenant_id: str, items: Sequence[ItemSnapshot]) -> None:
        for item in items:
            if (tenant_id, item.item_id) in self.state.items:
                raise AlreadyRecorded(f"item {item.item_id}")
            self.state.items[(tenant_id, item.item_id)] = item

    async def save(self, tenant_id: str, items: Sequence[ItemSnapshot]) -> None:
        for item in items:
            self.state.items[(tenant_id, item.item_id)] = item

    async def page(self, tenant_id: str, client_id: str, *, status_code: str | None, open_only: bool | None,
                   held: bool | None, overdue_on: date | None, skip: int, limit: int) -> list[ItemSnapshot]:
        found = [item for item in await self.of_client(tenant_id, client_id)
                 if (status_code is None or item.status_code == status_code)
                 and (open_only is None or open_only != item.closed)
                 and (held is None or held == (item.held_by_action_id is not None))
                 and (overdue_on is None or item.due_date < overdue_on)]
        return _page(sorted(found, key=lambda item: (item.due_date, item.item_id)), skip, limit)


class FakeUsers:
    def __init__(self, state: State) -> None:
        self.state = state

    async def get(self, tenant_id: str, user_id: str) -> User | None:
        return self.state.users.get((tenant_id, user_id))

    async def active(self, tenant_id: str, user_ids: Sequence[str]) -> dict[str, User]:
        return {u: self.state.users[(tenant_id, u)] for u in user_ids
                if (tenant_id, u) in self.state.users and self.state.users[(tenant_id, u)].active}

    async def all(self, tenant_id: str) -> list[User]:
        return sorted(_of(self.state.users, tenant_id), key=lambda u: u.user_id)

    async def save(self, tenant_id: str, user: User) -> None:
        self.state.users[(tenant_id, user.user_id)] = user


class FakeStatuses:
    def __init__(self, state: State) -> None:
        self.state = state

    async def get(self, tenant_id: str, code: str) -> ItemStatus | None:
        return self.state.statuses.get((tenant_id, code))

    async def all(self, tenant_id: str) -> list[ItemStatus]:
        return sorted(_of(self.state.statuses, tenant_id), key=lambda s: s.code)

    async def save(self, tenant_id: str, statuses: Sequence[ItemStatus]) -> None:
        for status in statuses:
            self.state.statuses[(tenant_id, status.code)] = status


class FakeTemplates:
    def __init__(self, state: State) -> None:
        self.state = state

    async def get(self, tenant_id: str, template_id: str) -> ActionTemplate | None:
        return self.state.templates.get((tenant_id, template_id))

    async def all(self, tenant_id: str) -> list[ActionTemplate]:
        return sorted(_of(self.state.templates, tenant_id), key=lambda t: t.name)

    async def save(self, tenant_id: str, template: ActionTemplate) -> None:
        self.state.templates[(tenant_id, template.template_id)] = template

    async def delete(self, tenant_id: str, template_id: str) -> bool:
        return self.state.templates.pop((tenant_id, template_id), None) is not None


class FakeTenants:
    def __init__(self, state: State) -> None:
        self.state = state

    async def is_set_up(self, tenant_id: str) -> bool:
        return tenant_id in self.state.tenants

    async def mark_set_up(self, tenant_id: str, *, at: datetime) -> None:
        if tenant_id in self.state.tenants:
            raise AlreadyRecorded(f"tenant {tenant_id}")
        self.state.tenants[tenant_id] = TenantSettings()

    async def settings(self, tenant_id: str) -> TenantSettings:
        return self.state.tenants.get(tenant_id) or TenantSettings()

    async def save_settings(self, tenant_id: str, settings: TenantSettings) -> None:
        self.state.tenants[tenant_id] = settings


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
        found = [a for a in _of(self.state.actions, tenant_id)
                 if (client_id is None or a.client_id == client_id)
                 and (owner_id is None or (a.owner is not None and a.owner.user_id == owner_id))
                 and (state is None or a.state == state) and (action_type is None or a.type == action_type)
                 and (date_from is None or a.scheduled_for >= date_from)
                 and (date_to is None or a.scheduled_for <= date_to)]
        found.sort(key=lambda a: (a.scheduled_for, a.action_id))
        return [{**a.model_dump(exclude={"item_ids", "content"}), "item_count": len(a.item_ids)}
                for a in _page(found, skip, limit)]


class FakeHistory:
    def __init__(self, state: State) -> None:
        self.state = state

    async def add(self, tenant_id: str, entries: Sequence[HistoryEntry]) -> None:
        for entry in entries:
            self.state.history[(tenant_id, entry.entry_id)] = entry

    def _sorted(self, tenant_id: str, keep: Callable[[HistoryEntry], bool], *, newest_first: bool
                ) -> list[HistoryEntry]:
        found = [e for e in _of(self.state.history, tenant_id) if keep(e)]
        return sorted(found, key=lambda e: (e.at, e.entry_id), reverse=newest_first)

    async def of_action(self, tenant_id: str, action_id: str, *, skip: int = 0, limit: int = 500
                        ) -> list[HistoryEntry]:
        return _page(self._sorted(tenant_id, lambda e: e.action_id == action_id, newest_first=False), skip, limit)

    async def latest(self, tenant_id: str, action_id: str, kind: str) -> HistoryEntry | None:
        found = self._sorted(tenant_id, lambda e: e.action_id == action_id and e.kind == kind, newest_first=True)
        return found[0] if found else None

    async def of_client(self, tenant_id: str, client_id: str, *, skip: int = 0, limit: int = 500
                        ) -> list[HistoryEntry]:
        entries = self._sorted(tenant_id, lambda e: e.client_id == client_id and e.client_level, newest_first=True)
        return _page(entries, skip, limit)


class FakeQualifications:
    def __init__(self, state: State) -> None:
        self.state = state

    async def add(self, tenant_id: str, record: dict[str, Any]) -> None:
        self.state.qualifications[(tenant_id, record["qualification_id"])] = copy.deepcopy(record)

    def _touching(self, tenant_id: str, client_id: str, item_ids: set[str]) -> list[dict[str, Any]]:
        found = [r for r in _of(self.state.qualifications, tenant_id)
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
        found = [r for r in _of(self.state.emails, tenant_id) if r.get("action_id") == action_id]
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
        found = [r for r in _of(self.state.attachments, tenant_id) if r["action_id"] == action_id]
        return [{k: v for k, v in r.items() if k != "file_id"} for r in sorted(found, key=lambda r: r["uploaded_at"])]


class FakeLinks:
    def __init__(self, state: State) -> None:
        self.state = state

    async def add(self, tenant_id: str, records: Sequence[LinkRecord]) -> None:
        for record in records:
            self.state.links[(tenant_id, record.link_id)] = record

    async def get(self, tenant_id: str, link_id: str) -> LinkRecord | None:
        return self.state.links.get((tenant_id, link_id))

    async def of_action(self, tenant_id: str, action_id: str, *, recipient: str | None = None
                        ) -> list[LinkRecord]:
        found = [r for r in _of(self.state.links, tenant_id) if r.action_id == action_id
                 and (recipient is None or r.recipient == recipient.lower())]
        return sorted(found, key=lambda r: r.issued_at)

    async def revoke(self, tenant_id: str, *, link_id: str | None = None, recipient: str | None = None,
                     by: Actor, at: datetime, reason: str) -> int:
        revoked = 0
        for key, record in list(self.state.links.items()):
            if key[0] != tenant_id or record.revoked or (link_id is not None and record.link_id != link_id) \
                    or (recipient is not None and record.recipient != recipient.lower()):
                continue
            self.state.links[key] = record.model_copy(update={"revoked": True, "revoked_at": at, "revoked_by": by,
                                                              "revoke_reason": reason})
            revoked += 1
        return revoked

    async def use_form(self, tenant_id: str, link_id: str, nonce: str, *, at: datetime) -> bool:
        if (tenant_id, link_id, nonce) in self.state.forms:
            return False
        self.state.forms.add((tenant_id, link_id, nonce))
        return True

    async def count_post(self, tenant_id: str, link_id: str, *, at: datetime) -> int:
        minute = (tenant_id, link_id, int(at.timestamp() // 60))
        self.state.posts[minute] = self.state.posts.get(minute, 0) + 1
        return self.state.posts[minute]


class FakeReplies:
    def __init__(self, state: State) -> None:
        self.state = state

    async def seen(self, tenant_id: str, reply_id: str) -> bool:
        return (tenant_id, reply_id) in self.state.replies

    async def add(self, tenant_id: str, record: dict[str, Any]) -> None:
        if (tenant_id, record["reply_id"]) in self.state.replies:
            raise AlreadyRecorded(f"reply {record['reply_id']}")
        self.state.replies[(tenant_id, record["reply_id"])] = copy.deepcopy(record)


@dataclass(frozen=True)
class FakeTx:
    """The repositories over the shared state, and the real publisher over the memory unit of work's list."""

    clients: FakeClients
    items: FakeItems
    users: FakeUsers
    statuses: FakeStatuses
    templates: FakeTemplates
    tenants: FakeTenants
    actions: FakeActions
    history: FakeHistory
    qualifications: FakeQualifications
    emails: FakeEmails
    attachments: FakeAttachments
    links: FakeLinks
    replies: FakeReplies
    events: OutboxEvents

    @classmethod
    def on(cls, state: State, outgoing: MemoryOutgoing) -> "FakeTx":
        return cls(clients=FakeClients(state), items=FakeItems(state), users=FakeUsers(state),
                   statuses=FakeStatuses(state), templates=FakeTemplates(state), tenants=FakeTenants(state),
                   actions=FakeActions(state), history=FakeHistory(state), qualifications=FakeQualifications(state),
                   emails=FakeEmails(state), attachments=FakeAttachments(state), links=FakeLinks(state),
                   replies=FakeReplies(state), events=OutboxEvents(outgoing))


@dataclass
class StoredBytes:
    tenant_id: str
    content: bytes
    stored_at: datetime


class FakeFiles:
    """Bytes in a dictionary; like GridFS they stay outside the unit of work (not rolled back)."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.stored: dict[int, StoredBytes] = {}
        self._ids = count(1)

    async def store(self, *, tenant_id: str, filename: str, declared_type: str,
                    read: Callable[[int], Awaitable[bytes]], max_bytes: int, allowed: frozenset[str],
                    now: datetime) -> StoredFile:
        first = await read(READ_CHUNK)
        content_type = check_content(declared_type, first, allowed=allowed)
        content, chunk = bytearray(), first
        while chunk:
            content.extend(chunk)
            if len(content) > max_bytes:
                raise TooLarge("the attachment", max_bytes)
            chunk = await read(READ_CHUNK)
        file_id = next(self._ids)
        self.stored[file_id] = StoredBytes(tenant_id, bytes(content), now)
        return StoredFile(file_id, content_type, len(content))

    async def discard(self, file_id: Any) -> None:
        self.stored.pop(file_id, None)

    async def content(self, file_id: Any) -> AsyncIterator[bytes]:
        yield self.stored[file_id].content

    async def sweep_orphans(self, *, older_than: datetime) -> int:
        recorded = {(tenant, r["file_id"]) for (tenant, _), r in self.state.attachments.items()}
        orphans = [file_id for file_id, stored in self.stored.items()
                   if stored.stored_at < older_than and (stored.tenant_id, file_id) not in recorded]
        for file_id in orphans:
            del self.stored[file_id]
        return len(orphans)


class FakeFetcher:
    """Claim-check URLs answered from a dictionary; any other URL is unreachable."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    async def fetch(self, ref: AttachmentRef, *, limit: int, timeout_s: float) -> bytes:
        if not ref.url.startswith(("http://", "https://")):
            raise UnsupportedType("the attachment's reference is not an http(s) URL", ())
        if ref.size > limit:
            raise TooLarge("the attachment", limit)
        if ref.url not in self.files:
            raise Unreachable(f"cannot be fetched: {ref.url} answers 404")
        content = self.files[ref.url]
        if len(content) > limit:
            raise TooLarge("the attachment", limit)
        return content


@dataclass
class Fakes:
    """The service's adapters in memory, and handles a test inspects them through."""

    state: State
    uow: MemoryUnitOfWork[State, FakeTx]
    files: FakeFiles
    fetcher: FakeFetcher

    def reset(self) -> None:
        """Empty every collection and forget what was published (the stored bytes too)."""
        self.state.__dict__.update(State().__dict__)
        self.uow.published.clear()
        self.files.stored.clear()

    @property
    def adapters(self) -> Adapters:
        return Adapters(uow=self.uow, files=self.files, fetcher=self.fetcher)


def fakes() -> Fakes:
    state = State()
    return Fakes(state=state, uow=MemoryUnitOfWork(state, FakeTx.on), files=FakeFiles(state), fetcher=FakeFetcher())
