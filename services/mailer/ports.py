"""What the mailer's handlers are written against: the repositories of one transaction (send ledger,
suppression list, reply routes, inbound records), the publisher of its events, and the ports outside
any transaction (reply files, dead letters, the SMTP relay, attachment downloads).

MongoDB, the outbox, aiosmtplib and httpx implement them in `adapters/`; the unit tests' in-memory
fakes in `tests/mailer/fakes.py`. `Adapters` is the bundle `app.py` builds, or a test passes.
"""

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.mailer.domain.inbound.mail import InboundRecord, ReplyRoute, StoredFile
from services.mailer.domain.sends import Failure, Finish, Outcome, Report, Send, SendQuery
from services.mailer.domain.suppressions import Suppression, SuppressionScope
from shared.contracts.email import AttachmentRef, ReplyReceived
from shared.ports import Flow, UnitOfWork


class AlreadyReceived(Exception):
    """A reply of that id is already recorded (two deliveries of one mail raced)."""


class AttachmentUnavailable(Exception):
    """An attachment could not be fetched; `permanent` when trying again cannot help."""

    def __init__(self, ref: AttachmentRef, reason: str, *, permanent: bool) -> None:
        self.permanent = permanent
        super().__init__(f"attachment {ref.filename!r} ({ref.attachment_id}): {reason}")


class SendLedger(Protocol):
    """One row per email request, keyed by its send id (derived from tenant and idempotency key)."""

    async def add(self, send: Send) -> bool:
        """Record a new request; False when its send id is already in the ledger."""
        ...

    async def claim_due(self, *, owner: str, limit: int, now: datetime, until: datetime) -> list[Send]:
        """Claim up to `limit` pending rows whose attempt is due, the oldest due ones (pending → sending;
        returned in no particular order)."""
        ...

    async def claim_ids(self, send_ids: Sequence[str], *, owner: str, now: datetime, until: datetime) -> list[Send]:
        """Claim given rows if they are still pending and due."""
        ...

    async def claim_abandoned(self, *, owner: str, limit: int, now: datetime, until: datetime) -> list[Send]:
        """Claim sending rows whose claim expired (their worker stopped renewing it)."""
        ...

    async def claim_overdue(self, *, owner: str, limit: int, due_before: datetime, now: datetime,
                            until: datetime) -> list[Send]:
        """Claim pending rows due since before `due_before` (past the retry budget)."""
        ...

    async def renew(self, send_ids: Sequence[str], *, owner: str, until: datetime) -> None:
        """Extend the claims `owner` still holds."""
        ...

    async def finish(self, finishes: Sequence[Finish], *, now: datetime) -> None:
        """End claims with their outcome (a row whose claim token changed is left alone)."""
        ...

    async def find(self, tenant_id: str, query: SendQuery, *, limit: int) -> list[Send]:
        """A tenant's sends matching `query`, newest first."""
        ...

    async def get(self, tenant_id: str, send_id: str) -> Send | None: ...

    async def by_id(self, send_id: str) -> Send | None:
        """A send named by a bounce or unsubscribe address (the row says which tenant it is)."""
        ...

    async def bounced(self, send: Send, address: str, *, missed: dict[str, str], failure: Failure | None,
                      note: str, now: datetime) -> bool:
        """Record that `address` bounced (the send fails when `failure` is given); False when it was already."""
        ...

    async def note(self, send: Send, note: str, *, now: datetime) -> None:
        """A history line that changes nothing else."""
        ...

    async def resend(self, tenant_id: str, send_id: str, *, by: str, now: datetime) -> bool:
        """An unknown or failed send back to pending, attempts reset; False when it is neither."""
        ...


class SuppressionList(Protocol):
    """Addresses no email goes to, per tenant (addresses compared in lower case)."""

    async def get(self, tenant_id: str, email: str) -> Suppression | None: ...

    async def put(self, tenant_id: str, entry: Suppression) -> None:
        """Store the entry of its address (replacing the one there)."""
        ...

    async def remove(self, tenant_id: str, email: str) -> bool: ...

    async def entries(self, tenant_id: str, *, limit: int, after: str | None = None) -> list[Suppression]:
        """A tenant's entries by address, after `after`."""
        ...

    async def blocked(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], SuppressionScope]:
        """For (tenant, address) pairs, the scope of those on the list (addresses in lower case)."""
        ...


class ReplyRoutes(Protocol):
    """Where a reply to each internal interactive email belongs, by the digest of its token."""

    async def record(self, route: ReplyRoute) -> bool:
        """Idempotent; False when the address is another tenant's (never taken over)."""
        ...

    async def find(self, tenant_id: str, key: str) -> ReplyRoute | None: ...


class InboundRecords(Protocol):
    """One record per reply received, keyed by the reply's id."""

    async def seen(self, reply_id: str) -> bool: ...

    async def add(self, record: InboundRecord) -> None:
        """Raises AlreadyReceived when a reply of that id is recorded."""
        ...


class MailerPublisher(Protocol):
    """The events the mailer publishes, staged in the transaction that records their cause; each in
    the flow of the email it is about (a unit of work may hold outcomes of many requests)."""

    async def delivery_reports(self, reports: Sequence[tuple[Send, Report]], *, at: datetime) -> None:
        """EmailDelivered / EmailFailed, each in the flow of its send's request, keyed by its client."""
        ...

    async def reply_received(self, reply: ReplyReceived, *, flow: Flow) -> str:
        """ReplyReceived in the flow of the email it answers, keyed by its client; returns the event's id."""
        ...


class MailerTx(Protocol):
    """The repositories and publisher of one unit of work."""

    @property
    def sends(self) -> SendLedger: ...

    @property
    def suppressions(self) -> SuppressionList: ...

    @property
    def routes(self) -> ReplyRoutes: ...

    @property
    def records(self) -> InboundRecords: ...

    @property
    def publisher(self) -> MailerPublisher: ...


class ReplyFiles(Protocol):
    """The files of replies, by id, each tagged with its tenant (outside any transaction)."""

    async def store(self, file_id: str, *, tenant_id: str, filename: str, content_type: str, content: bytes,
                    now: datetime) -> None:
        """Store (or store again, after an attempt that did not finish) the bytes of one file."""
        ...

    async def describe(self, tenant_id: str, file_id: str) -> StoredFile | None: ...

    def content(self, file_id: str) -> AsyncIterator[bytes]: ...


class RequestDeadLetters(Protocol):
    """Where a request whose retries ran out goes, as it was received."""

    async def send(self, send: Send, *, reason: str, at: datetime) -> None:
        """Put the request on the dead-letter topic; raises when it cannot (try again later)."""
        ...


class SmtpTransport(Protocol):
    """One connection to the relay."""

    @property
    def in_data(self) -> bool:
        """Between DATA and its reply: a lost connection now is an unknown outcome."""
        ...

    @property
    def worn_out(self) -> bool: ...

    async def open(self) -> None: ...

    async def usable(self) -> bool: ...

    async def transact(self, sender: str, recipients: Sequence[str], data: bytes) -> Outcome:
        """MAIL, RCPT, DATA: the outcome, never an exception for SMTP trouble."""
        ...

    async def quit(self) -> None: ...

    def close(self) -> None: ...


class AttachmentSource(Protocol):
    """Attachments by reference, fetched when the email is sent."""

    async def fetch(self, ref: AttachmentRef) -> bytes:
        """The bytes of an attachment by reference; raises AttachmentUnavailable."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Adapters:
    """What the mailer runs on: MongoDB, Kafka and SMTP by default (`app.py`), fakes in unit tests."""

    uow: UnitOfWork[MailerTx]
    files: ReplyFiles
    dead_letters: RequestDeadLetters
    connect: Callable[[], SmtpTransport]  # a new connection to the relay, one per sender lane
    attachments: Callable[[], AttachmentSource]  # a downloader, one per run of the sender
