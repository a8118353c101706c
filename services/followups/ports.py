"""What the followups handlers are written against: repositories, the publisher, the transaction object
(`Tx`) a unit of work hands out, and `Adapters`, the bundle app.py builds (MongoDB) or a test passes (fakes).

Pure Protocols and values: MongoDB implements them in `adapters/`, the unit tests' fakes in
`tests/followups/fakes.py`. A repository of a `Tx` reads and writes in that transaction; `uow.reading()`
gives the same repositories outside any transaction, for reads and the few writes that need none.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from shared.contracts.actions import ActionChanged
from shared.contracts.email import AttachmentRef, EmailRequested
from shared.contracts.receivables import ClientUpserted, ReattachReason
from shared.contracts.values import ActionType, Actor, ItemSnapshot
from shared.ports import UnitOfWork
from services.followups.domain.actions import Action
from services.followups.domain.history import HistoryEntry
from services.followups.domain.links import LinkRecord
from services.followups.domain.parties import Client, TenantSettings, User
from services.followups.domain.statuses import ItemStatus
from services.followups.domain.templates import ActionTemplate

Document = dict[str, Any]


class AlreadyRecorded(Exception):
    """A record that exists once was written a second time (a tenant set up, a reply handled, concurrently)."""


# -- import bodies --


class StreamBroken(Exception):
    """The body cannot be read any further (bad encoding, malformed JSON, a row over the size limit)."""


@dataclass(frozen=True)
class Row:
    """One row of an import body, with its position, as the API's readers hand it to the intake handler."""

    number: int  # CSV: line where the record starts; JSON: 1-based position in the array / stream
    data: dict[str, Any] | None
    error: str | None = None
    header: list[str] | None = None  # the CSV header row: the column names, nothing to import


# -- repositories --


class Clients(Protocol):
    async def get(self, tenant_id: str, client_id: str) -> Client | None: ...
    async def many(self, tenant_id: str, client_ids: Sequence[str]) -> dict[str, Client]: ...
    async def save_all(self, tenant_id: str, clients: Sequence[Client], *, created: set[str]) -> None: ...
    async def page(self, tenant_id: str, *, collector_id: str | None, skip: int, limit: int) -> list[Client]: ...


class Items(Protocol):
    async def by_ids(self, tenant_id: str, item_ids: Sequence[str]) -> dict[str, ItemSnapshot]: ...
    async def of_client(self, tenant_id: str, client_id: str, *, open_only: bool = False) -> list[ItemSnapshot]: ...

    async def select(self, tenant_id: str, client_id: str, item_ids: Sequence[str]) -> dict[str, ItemSnapshot]:
        """The requested items wherever they belong in the tenant (other clients' too, to say so)."""
        ...

    async def held_by(self, tenant_id: str, client_id: str, action_id: str) -> list[ItemSnapshot]: ...
    async def insert(self, tenant_id: str, items: Sequence[ItemSnapshot]) -> None: ...
    async def save(self, tenant_id: str, items: Sequence[ItemSnapshot]) -> None: ...

    async def page(self, tenant_id: str, client_id: str, *, status_code: str | None, open_only: bool | None,
                   held: bool | None, overdue_on: date | None, skip: int, limit: int) -> list[ItemSnapshot]: ...


class Users(Protocol):
    async def get(self, tenant_id: str, user_id: str) -> User | None: ...
    async def active(self, tenant_id: str, user_ids: Sequence[str]) -> dict[str, User]: ...
    async def all(self, tenant_id: str) -> list[User]: ...
    async def save(self, tenant_id: str, user: User) -> None: ...


class Statuses(Protocol):
    async def get(self, tenant_id: str, code: str) -> ItemStatus | None: ...
    async def all(self, tenant_id: str) -> list[ItemStatus]: ...
    async def save(self, tenant_id: str, statuses: Sequence[ItemStatus]) -> None: ...


class Templates(Protocol):
    async def get(self, tenant_id: str, template_id: str) -> ActionTemplate | None: ...
    async def all(self, tenant_id: str) -> list[ActionTemplate]: ...
    async def save(self, tenant_id: str, template: ActionTemplate) -> None: ...
    async def delete(self, tenant_id: str, template_id: str) -> bool: ...


class Tenants(Protocol):
    async def is_set_up(self, tenant_id: str) -> bool: ...

    async def mark_set_up(self, tenant_id: str, *, at: datetime) -> None:
        """Raises AlreadyRecorded when another request set the tenant up first."""
        ...

    async def settings(self, tenant_id: str) -> TenantSettings: ...
    async def save_settings(self, tenant_id: str, settings: TenantSettings) -> None: ...


class Actions(Protocol):
    async def get(self, tenant_id: str, action_id: str) -> Action | None: ...
    async def many(self, tenant_id: str, action_ids: Sequence[str]) -> dict[str, Action]: ...
    async def save(self, tenant_id: str, action: Action) -> None: ...

    async def search(self, tenant_id: str, *, client_id: str | None, owner_id: str | None, state: str | None,
                     action_type: str | None, date_from: date | None, date_to: date | None, skip: int,
                     limit: int) -> list[Document]:
        """Summaries (no item list, no content) in date order."""
        ...


class History(Protocol):
    async def add(self, tenant_id: str, entries: Sequence[HistoryEntry]) -> None: ...
    async def of_action(self, tenant_id: str, action_id: str, *, skip: int = 0, limit: int = 500
                        ) -> list[HistoryEntry]: ...

    async def latest(self, tenant_id: str, action_id: str, kind: str) -> HistoryEntry | None:
        """The action's most recent entry of one kind (e.g. who confirmed it)."""
        ...

    async def of_client(self, tenant_id: str, client_id: str, *, skip: int = 0, limit: int = 500
                        ) -> list[HistoryEntry]: ...


class Qualifications(Protocol):
    async def add(self, tenant_id: str, record: Document) -> None: ...
    async def of_item(self, tenant_id: str, client_id: str, item_id: str) -> list[Document]: ...

    async def of_items(self, tenant_id: str, client_id: str, item_ids: Sequence[str]) -> list[Document]:
        """The records touching any of these items, oldest first."""
        ...


class Emails(Protocol):
    async def add(self, tenant_id: str, records: Sequence[Document]) -> None: ...
    async def get(self, tenant_id: str, request_id: str) -> Document | None: ...
    async def record_outcome(self, tenant_id: str, request_id: str, *, state: str, at: datetime,
                             details: Document) -> None: ...
    async def of_action(self, tenant_id: str, action_id: str) -> list[Document]: ...


class Attachments(Protocol):
    """The records of stored documents (the bytes are `Files`'): nothing is reachable without its record."""

    async def record(self, tenant_id: str, record: Document) -> None: ...
    async def get(self, tenant_id: str, attachment_id: str) -> Document | None: ...
    async def of_action(self, tenant_id: str, action_id: str) -> list[Document]: ...


class Links(Protocol):
    async def add(self, tenant_id: str, records: Sequence[LinkRecord]) -> None: ...
    async def get(self, tenant_id: str, link_id: str) -> LinkRecord | None: ...

    async def tenant_of(self, link_id: str) -> str | None:
        """The tenant a link was issued in (a short link names only its link; ids are unique across tenants)."""
        ...

    async def of_action(self, tenant_id: str, action_id: str, *, recipient: str | None = None
                        ) -> list[LinkRecord]: ...

    async def revoke(self, tenant_id: str, *, link_id: str | None = None, recipient: str | None = None,
                     by: Actor, at: datetime, reason: str) -> int:
        """Revoke one link, or every link of a recipient; returns how many were still active."""
        ...

    async def use_form(self, tenant_id: str, link_id: str, nonce: str, *, at: datetime) -> bool:
        """Record a form as sent; False when it was sent before (a replayed POST)."""
        ...

    async def count_post(self, tenant_id: str, link_id: str, *, at: datetime) -> int:
        """POSTs to this link in the current minute, this one included."""
        ...


class Replies(Protocol):
    async def seen(self, tenant_id: str, reply_id: str) -> bool: ...

    async def add(self, tenant_id: str, record: Document) -> None:
        """Raises AlreadyRecorded when the reply was handled already."""
        ...


# -- the publisher --


class Events(Protocol):
    """The events this service publishes, by what happened; staged in the unit of work's transaction."""

    async def client_upserted(self, event: ClientUpserted) -> None: ...
    async def status_defined(self, status: ItemStatus) -> None: ...
    async def items_upserted(self, client_id: str, items: Sequence[ItemSnapshot]) -> None: ...
    async def items_closed(self, client_id: str, items: Sequence[ItemSnapshot]) -> None: ...
    async def item_status_changed(self, client_id: str, items: Sequence[ItemSnapshot], *, status_code: str | None,
                                  previous: dict[str, str | None], comment: str | None, actor: Actor) -> None: ...
    async def items_detached(self, client_id: str, items: Sequence[ItemSnapshot], *, action_id: str,
                             action_type: ActionType, actor: Actor) -> None: ...
    async def items_reattached(self, client_id: str, items: Sequence[ItemSnapshot], *, action_id: str,
                               reason: ReattachReason, actor: Actor) -> None: ...
    async def action_changed(self, event: ActionChanged) -> None: ...
    async def email_requested(self, event: EmailRequested) -> None: ...


# -- the transaction object --


class Tx(Protocol):
    """The repositories of one transaction and the events it publishes (committed together, or neither)."""

    @property
    def clients(self) -> Clients: ...
    @property
    def items(self) -> Items: ...
    @property
    def users(self) -> Users: ...
    @property
    def statuses(self) -> Statuses: ...
    @property
    def templates(self) -> Templates: ...
    @property
    def tenants(self) -> Tenants: ...
    @property
    def actions(self) -> Actions: ...
    @property
    def history(self) -> History: ...
    @property
    def qualifications(self) -> Qualifications: ...
    @property
    def emails(self) -> Emails: ...
    @property
    def attachments(self) -> Attachments: ...
    @property
    def links(self) -> Links: ...
    @property
    def replies(self) -> Replies: ...
    @property
    def events(self) -> Events: ...


# -- outside any transaction --


@dataclass(frozen=True)
class StoredFile:
    file_id: Any  # the storage's own id, opaque here
    content_type: str
    size: int


class Files(Protocol):
    """The bytes of documents: stored before their record's transaction (storage outside it), deleted if
    that transaction fails; files no record points to are swept later."""

    async def store(self, *, tenant_id: str, filename: str, declared_type: str,
                    read: Callable[[int], Awaitable[bytes]], max_bytes: int, allowed: frozenset[str],
                    now: datetime) -> StoredFile:
        """Checks type on the first bytes and size as it goes (UnsupportedType, TooLarge)."""
        ...

    async def discard(self, file_id: Any) -> None: ...
    def content(self, file_id: Any) -> AsyncIterator[bytes]: ...

    async def sweep_orphans(self, *, older_than: datetime) -> int:
        """Delete stored bytes no record points to; returns how many."""
        ...


class Fetcher(Protocol):
    """Reads a reply's attachment from its claim-check URL (TooLarge, UnsupportedType, Unreachable)."""

    async def fetch(self, ref: AttachmentRef, *, limit: int, timeout_s: float) -> bytes: ...


@dataclass(frozen=True)
class Adapters:
    """Everything app.py builds from the database and the network, or a test passes in memory."""

    uow: UnitOfWork[Tx]
    files: Files
    fetcher: Fetcher
