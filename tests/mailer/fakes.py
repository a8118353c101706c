"""In-memory implementations of every port of the mailer (`services/mailer/ports.py`), on the shared
in-memory unit of work: the state of one mailer database in one object, all or nothing per unit of
work, events recorded in order. The contract suites in `tests/mailer/contracts/` hold them to what
the MongoDB, SMTP and HTTP adapters do, so they cannot drift."""

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

from services.mailer.domain.inbound.mail import InboundRecord, ReplyRoute, StoredFile
from services.mailer.domain.reports import delivery_report
from services.mailer.domain.sends import (
    RESENDABLE_STATES,
    Failure,
    Finish,
    Outcome,
    Report,
    Send,
    SendQuery,
    SendState,
    Verdict,
    history_entry,
)
from services.mailer.domain.suppressions import Suppression, SuppressionScope, normalised
from services.mailer.ports import Adapters, AlreadyReceived, AttachmentUnavailable
from shared.contracts.email import AttachmentRef, ReplyReceived
from shared.ports import Flow
from tests.support.memory import MemoryOutgoing, MemoryUnitOfWork, Published

HISTORY_KEPT = 20


@dataclass
class Row:
    """A ledger row: the send, and who holds its claim until when (not part of `Send`)."""

    send: Send
    claimed_by: str | None = None
    claim_expires_at: datetime | None = None


@dataclass
class MailerState:
    sends: dict[str, Row] = field(default_factory=dict)
    suppressions: dict[tuple[str, str], Suppression] = field(default_factory=dict)
    routes: dict[str, ReplyRoute] = field(default_factory=dict)
    records: dict[str, InboundRecord] = field(default_factory=dict)


def _changed(send: Send, **changes: Any) -> Send:
    return Send.model_validate({**send.model_dump(mode="python"), "envelope_json": send.envelope_json, **changes})


def _listed(send: Send) -> Send:
    """As the ledger lists a row: without the request it was made from."""
    return send.model_copy(update={"envelope_json": ""})


def _with_history(send: Send, entry: tuple[datetime, SendState, str], **changes: Any) -> Send:
    history = [*send.history, history_entry(*entry)][-HISTORY_KEPT:]
    return _changed(send, history=history, **changes)


class FakeSendLedger:
    def __init__(self, state: MailerState) -> None:
        self.state = state

    async def add(self, send: Send) -> bool:
        if send.send_id in self.state.sends:
            return False
        self.state.sends[send.send_id] = Row(send)
        return True

    async def claim_due(self, *, owner: str, limit: int, now: datetime, until: datetime) -> list[Send]:
        due = sorted((row for row in self.state.sends.values()
                      if row.send.state is SendState.PENDING and row.send.next_attempt_at <= now),
                     key=lambda row: row.send.next_attempt_at)
        return self._claim(due[:limit], owner=owner, now=now, until=until)

    async def claim_ids(self, send_ids: Sequence[str], *, owner: str, now: datetime, until: datetime) -> list[Send]:
        rows = [row for send_id in dict.fromkeys(send_ids) if (row := self.state.sends.get(send_id)) is not None
                and row.send.state is SendState.PENDING and row.send.next_attempt_at <= now]
        return self._claim(rows, owner=owner, now=now, until=until)

    async def claim_abandoned(self, *, owner: str, limit: int, now: datetime, until: datetime) -> list[Send]:
        expired = sorted((row for row in self.state.sends.values() if row.send.state is SendState.SENDING
                          and row.claim_expires_at is not None and row.claim_expires_at < now),
                         key=lambda row: row.claim_expires_at or now)
        return self._claim(expired[:limit], owner=owner, now=now, until=until)

    async def claim_overdue(self, *, owner: str, limit: int, due_before: datetime, now: datetime,
                            until: datetime) -> list[Send]:
        overdue = sorted((row for row in self.state.sends.values()
                          if row.send.state is SendState.PENDING and row.send.next_attempt_at < due_before),
                         key=lambda row: row.send.next_attempt_at)
        return self._claim(overdue[:limit], owner=owner, now=now, until=until)

    def _claim(self, rows: list[Row], *, owner: str, now: datetime, until: datetime) -> list[Send]:
        token = uuid4().hex
        for row in rows:
            row.send = _changed(row.send, state=SendState.SENDING, claim_token=token, updated_at=now)
            row.claimed_by, row.claim_expires_at = owner, until
        return [row.send for row in rows]

    async def renew(self, send_ids: Sequence[str], *, owner: str, until: datetime) -> None:
        for send_id in send_ids:
            row = self.state.sends.get(send_id)
            if row is not None and row.claimed_by == owner and row.send.state is SendState.SENDING:
                row.claim_expires_at = until

    async def finish(self, finishes: Sequence[Finish], *, now: datetime) -> None:
        for finish in finishes:
            row = self.state.sends.get(finish.send_id)
            if row is None or row.send.claim_token != finish.claim_token:
                continue
            row.send = _with_history(row.send, (now, finish.state, finish.note), state=finish.state, updated_at=now,
                                     claim_token=None, attempts=row.send.attempts + (1 if finish.counted else 0),
                                     **finish.fields)
            row.claimed_by = row.claim_expires_at = None

    async def find(self, tenant_id: str, query: SendQuery, *, limit: int) -> list[Send]:
        wanted = {name: value for name in ("request_id", "action_id", "client_id", "state")
                  if (value := getattr(query, name)) is not None}
        found = [row.send for row in self.state.sends.values() if row.send.tenant_id == tenant_id
                 and all(getattr(row.send, name) == value for name, value in wanted.items())]
        found.sort(key=lambda send: send.created_at, reverse=True)
        return [_listed(send) for send in found[:limit]]

    async def get(self, tenant_id: str, send_id: str) -> Send | None:
        row = self.state.sends.get(send_id)
        return _listed(row.send) if row is not None and row.send.tenant_id == tenant_id else None

    async def by_id(self, send_id: str) -> Send | None:
        row = self.state.sends.get(send_id)
        return _listed(row.send) if row is not None else None

    async def bounced(self, send: Send, address: str, *, missed: dict[str, str], failure: Failure | None,
                      note: str, now: datetime) -> bool:
        row = self.state.sends.get(send.send_id)
        if row is None or address in row.send.bounced:
            return False
        changes: dict[str, Any] = {"missed": missed, "updated_at": now, "bounced": [*row.send.bounced, address]}
        if failure is not None:
            changes.update(state=SendState.FAILED, failure=failure)
        state = SendState.FAILED if failure is not None else send.state
        row.send = _with_history(row.send, (now, state, note), **changes)
        return True

    async def note(self, send: Send, note: str, *, now: datetime) -> None:
        row = self.state.sends.get(send.send_id)
        if row is not None:
            row.send = _with_history(row.send, (now, send.state, note))

    async def resend(self, tenant_id: str, send_id: str, *, by: str, now: datetime) -> bool:
        row = self.state.sends.get(send_id)
        if row is None or row.send.tenant_id != tenant_id or row.send.state not in RESENDABLE_STATES:
            return False
        row.send = _with_history(row.send, (now, SendState.PENDING, f"resend requested by {by}"),
                                 state=SendState.PENDING, attempts=0, next_attempt_at=now, created_at=now,
                                 updated_at=now, failure=None, claim_token=None)
        row.claimed_by = row.claim_expires_at = None
        return True


class FakeSuppressions:
    def __init__(self, state: MailerState) -> None:
        self.state = state

    async def get(self, tenant_id: str, email: str) -> Suppression | None:
        return self.state.suppressions.get((tenant_id, normalised(email)))

    async def put(self, tenant_id: str, entry: Suppression) -> None:
        self.state.suppressions[(tenant_id, normalised(entry.email))] = entry

    async def remove(self, tenant_id: str, email: str) -> bool:
        return self.state.suppressions.pop((tenant_id, normalised(email)), None) is not None

    async def entries(self, tenant_id: str, *, limit: int, after: str | None = None) -> list[Suppression]:
        found = sorted((entry for (tenant, _), entry in self.state.suppressions.items() if tenant == tenant_id
                        and (not after or entry.email > after.lower())), key=lambda entry: entry.email)
        return found[:limit]

    async def blocked(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], SuppressionScope]:
        found = {}
        for tenant_id, email in pairs:
            entry = self.state.suppressions.get((tenant_id, normalised(email)))
            if entry is not None:
                found[(tenant_id, entry.email)] = entry.scope
        return found


class FakeReplyRoutes:
    def __init__(self, state: MailerState) -> None:
        self.state = state

    async def record(self, route: ReplyRoute) -> bool:
        existing = self.state.routes.get(route.key)
        if existing is not None and existing.tenant_id != route.tenant_id:
            return False
        self.state.routes[route.key] = route
        return True

    async def find(self, tenant_id: str, key: str) -> ReplyRoute | None:
        route = self.state.routes.get(key)
        return route if route is not None and route.tenant_id == tenant_id else None


class FakeInboundRecords:
    def __init__(self, state: MailerState) -> None:
        self.state = state

    async def seen(self, reply_id: str) -> bool:
        return reply_id in self.state.records

    async def add(self, record: InboundRecord) -> None:
        if record.reply_id in self.state.records:
            raise AlreadyReceived(record.reply_id)
        self.state.records[record.reply_id] = record


class FakePublisher:
    """Records each event, with the flow and key it is published with, in the unit of work's list."""

    def __init__(self, outgoing: MemoryOutgoing) -> None:
        self.outgoing = outgoing

    async def delivery_reports(self, reports: Sequence[tuple[Send, Report]], *, at: datetime) -> None:
        self._check()
        for send, report in reports:
            self.outgoing.staged.append(Published(delivery_report(send, report, at=at), send.client_id,
                                                  Flow(send.tenant_id, send.correlation_id, send.event_id),
                                                  send.request_id))

    async def reply_received(self, reply: ReplyReceived, *, flow: Flow) -> str:
        self._check()
        self.outgoing.staged.append(Published(reply, reply.client_id, flow, reply.action_id))
        return uuid4().hex

    def _check(self) -> None:
        if self.outgoing.flow is None:
            raise RuntimeError("events are published only from inside a unit of work")


@dataclass(frozen=True)
class FakeTx:
    sends: FakeSendLedger
    suppressions: FakeSuppressions
    routes: FakeReplyRoutes
    records: FakeInboundRecords
    publisher: FakePublisher


def bind(state: MailerState, outgoing: MemoryOutgoing) -> FakeTx:
    return FakeTx(FakeSendLedger(state), FakeSuppressions(state), FakeReplyRoutes(state), FakeInboundRecords(state),
                  FakePublisher(outgoing))


class FakeReplyFiles:
    def __init__(self) -> None:
        self.stored: dict[str, tuple[str, StoredFile, bytes]] = {}

    async def store(self, file_id: str, *, tenant_id: str, filename: str, content_type: str, content: bytes,
                    now: datetime) -> None:
        self.stored[file_id] = (tenant_id, StoredFile(file_id, filename or "attachment", content_type, len(content)),
                                content)

    async def describe(self, tenant_id: str, file_id: str) -> StoredFile | None:
        found = self.stored.get(file_id)
        return found[1] if found is not None and found[0] == tenant_id else None

    async def content(self, file_id: str) -> AsyncIterator[bytes]:
        yield self.stored[file_id][2]


@dataclass
class FakeDeadLetters:
    letters: list[tuple[Send, str]] = field(default_factory=list)
    broker_down: bool = False

    async def send(self, send: Send, *, reason: str, at: datetime) -> None:
        if self.broker_down:
            raise ConnectionError("the broker is unreachable")
        self.letters.append((send, reason))


@dataclass(frozen=True)
class RelayedMail:
    sender: str
    recipients: tuple[str, ...]
    data: bytes


@dataclass
class FakeRelay:
    """The SMTP relay the fake connections talk to: what it took, and the faults it is told to show."""

    mails: list[RelayedMail] = field(default_factory=list)
    recipient_faults: dict[str, str] = field(default_factory=dict)  # address → "550 5.1.1 no such user"
    drop_after_data: set[str] = field(default_factory=set)  # the connection is lost after DATA (the mail arrives)
    down: bool = False

    def to(self, address: str) -> list[RelayedMail]:
        return [mail for mail in self.mails if address in mail.recipients]

    def connect(self) -> "FakeConnection":
        return FakeConnection(self)


class FakeConnection:
    """One connection to the fake relay, with `SmtpConnection`'s verdicts."""

    def __init__(self, relay: FakeRelay, max_messages: int = 100) -> None:
        self.relay, self.max_messages = relay, max_messages
        self.open_now, self.sent, self.in_data = False, 0, False

    @property
    def worn_out(self) -> bool:
        return self.sent >= self.max_messages

    async def open(self) -> None:
        self.open_now = False  # as SmtpConnection: whatever was open is closed first
        if self.relay.down:
            raise ConnectionRefusedError("the relay is down")
        self.open_now, self.sent = True, 0

    async def usable(self) -> bool:
        return self.open_now and not self.relay.down

    async def transact(self, sender: str, recipients: Sequence[str], data: bytes) -> Outcome:
        if not self.open_now:
            return Outcome(Verdict.TEMPORARY, "not connected to the relay", counts_as_attempt=False)
        refused = {address: self.relay.recipient_faults[address] for address in recipients
                   if address in self.relay.recipient_faults}
        codes = [int(reply.split()[0]) for reply in refused.values()]
        accepted = [address for address in recipients if address not in refused]
        temporary = [code for code in codes if 400 <= code < 500]
        if temporary:
            return Outcome(Verdict.TEMPORARY, "a recipient was refused for now: " + "; ".join(refused.values()),
                           smtp_code=temporary[0], refused=refused)
        if not accepted:
            return Outcome(Verdict.PERMANENT, "every recipient was refused: " + "; ".join(refused.values()),
                           smtp_code=codes[0], refused=refused)
        self.relay.mails.append(RelayedMail(sender, tuple(accepted), data))
        if any(address in self.relay.drop_after_data for address in accepted):
            self.open_now = False
            return Outcome(Verdict.UNKNOWN, "connection lost during DATA, delivery unknown: closed")
        self.sent += 1
        return Outcome(Verdict.DELIVERED, "250 OK", smtp_code=250, accepted=tuple(accepted), refused=refused)

    async def quit(self) -> None:
        self.open_now = False

    def close(self) -> None:
        self.open_now = False


@dataclass
class FakeAttachments:
    """Attachment downloads by URL; an unknown URL is a 404."""

    files: dict[str, bytes] = field(default_factory=dict)

    async def fetch(self, ref: AttachmentRef) -> bytes:
        if ref.url not in self.files:
            raise AttachmentUnavailable(ref, "HTTP 404", permanent=True)
        return self.files[ref.url]

    async def close(self) -> None:
        pass


@dataclass
class Fakes:
    """Everything the mailer runs on, in memory; `adapters` is what `create_app` takes."""

    uow: MemoryUnitOfWork[MailerState, FakeTx] = field(default_factory=lambda: MemoryUnitOfWork(MailerState(), bind))
    files: FakeReplyFiles = field(default_factory=FakeReplyFiles)
    dead_letters: FakeDeadLetters = field(default_factory=FakeDeadLetters)
    relay: FakeRelay = field(default_factory=FakeRelay)
    downloads: FakeAttachments = field(default_factory=FakeAttachments)

    @property
    def state(self) -> MailerState:
        return self.uow.state

    @property
    def adapters(self) -> Adapters:
        return Adapters(uow=self.uow, files=self.files, dead_letters=self.dead_letters, connect=self.relay.connect,
                        attachments=lambda: self.downloads)

    def send_of(self, request_id: str) -> Send:
        [row] = [row for row in self.state.sends.values() if row.send.request_id == request_id]
        return row.send

    def reports(self, request_id: str | None = None) -> list[Published]:
        return [published for published in self.uow.published
                if published.payload.type_name().startswith("arf.email.")
                and (request_id is None or getattr(published.payload, "request_id", None) == request_id)]

    def replies(self, action_id: str) -> list[Published]:
        return [published for published in self.uow.published if isinstance(published.payload, ReplyReceived)
                and published.payload.action_id == action_id]
