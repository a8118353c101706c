"""The mailer's rules, pure Python: the send ledger's states, ids derived from the idempotency key,
what an SMTP reply means, when to try again, and who may receive an email.

SMTP cannot be exactly-once (RFC 5321 §6.1): the ledger makes it once *in effect*. A send is
written (pending, with its Message-ID) before any SMTP transaction, claimed (sending) by one
worker, and only a definite answer moves it on: 2xx → sent, 5xx → failed, 4xx or a connection
lost before DATA → pending again later, a connection lost after DATA → unknown (maybe delivered:
not resent unless a person decides so, or the tenant's policy says so).
"""

import hashlib
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.email import EmailPurpose, EmailRequested, FailureKind
from shared.contracts.values import Recipient


class SendState(StrEnum):
    PENDING = "pending"  # written, waiting for its (next) attempt
    SENDING = "sending"  # claimed by one mailer worker; an SMTP transaction may be under way
    SENT = "sent"  # the relay accepted it (250 after DATA)
    FAILED = "failed"  # will not be sent: permanent refusal, suppressed address, or retries exhausted
    UNKNOWN = "unknown"  # the connection was lost after DATA: it may or may not have been delivered


FINAL_STATES = frozenset({SendState.SENT, SendState.FAILED, SendState.UNKNOWN})
RESENDABLE_STATES = frozenset({SendState.UNKNOWN, SendState.FAILED})


class UnknownPolicy(StrEnum):
    HOLD = "hold"  # default: mark unknown, report it, show it to the owner, never resend by itself
    RESEND = "resend"  # try again (the recipient may get it twice, with the same Message-ID)


class Failure(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: FailureKind
    reason: str
    smtp_code: int | None = None
    refused: dict[str, str] = Field(default_factory=dict)  # recipient → the server's reply


class HistoryEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    state: SendState
    note: str


class Send(BaseModel):
    """One row of the send ledger: one email request, whatever happens to it."""

    model_config = ConfigDict(frozen=True)

    send_id: str
    tenant_id: str
    idempotency_key: str
    request_id: str
    client_id: str
    action_id: str | None = None
    purpose: EmailPurpose
    automatic: bool = False
    state: SendState
    message_id: str
    envelope_from: str
    recipients: list[str]
    attempts: int = 0
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None
    missed: dict[str, str] = Field(default_factory=dict)  # of a sent email: recipient → why not to them
    bounced: list[str] = Field(default_factory=list)  # recipients a bounce was recorded for (each once)
    failure: Failure | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    handled_by: str | None = Field(None, description="The mailer instance that wrote the last outcome")
    event_id: str
    correlation_id: str
    claim_token: str | None = None
    envelope_json: str = Field("", exclude=True, description="The EmailRequested event as received")

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def delivered_to(self) -> list[str]:
        if self.state is not SendState.SENT:
            return []
        return [address for address in self.recipients if address not in self.missed]


def new_send(
    request: EmailRequested,
    *,
    tenant_id: str,
    event_id: str,
    correlation_id: str,
    envelope_json: str,
    now: datetime,
    inbound_domain: str,
    message_id_domain: str,
) -> Send:
    """The ledger row of a new request: pending, due now, its ids fixed once and for all."""
    send_id = send_id_for(tenant_id, request.idempotency_key)
    return Send(
        send_id=send_id, tenant_id=tenant_id, idempotency_key=request.idempotency_key,
        request_id=request.request_id, client_id=request.client_id, action_id=request.action_id,
        purpose=request.purpose, automatic=request.automatic, state=SendState.PENDING,
        message_id=message_id_for(send_id, message_id_domain), envelope_from=verp_address(send_id, inbound_domain),
        recipients=[recipient.email for recipient in (*request.to, *request.cc)],
        next_attempt_at=now, created_at=now, updated_at=now,
        history=[history_entry(now, SendState.PENDING, "requested")],
        event_id=event_id, correlation_id=correlation_id, envelope_json=envelope_json,
    )


# -- ids derived from the request ---------------------------------------------------------------

def send_id_for(tenant_id: str, idempotency_key: str) -> str:
    """The same request always gets the same id (so the same Message-ID and bounce address)."""
    return hashlib.sha256(f"{tenant_id}\x1f{idempotency_key}".encode()).hexdigest()[:32]


def message_id_for(send_id: str, domain: str) -> str:
    return f"<{send_id}@{domain}>"


def verp_address(send_id: str, domain: str) -> str:
    """The envelope sender: a bounce to it names the send it is about."""
    return f"bounces+{send_id}@{domain}"


def unsubscribe_address(send_id: str, domain: str) -> str:
    return f"unsubscribe+{send_id}@{domain}"


_VERP = re.compile(r"^(?:bounces|unsubscribe)\+([0-9a-f]{32})@(.+)$", re.IGNORECASE)


def send_id_from_address(address: str, domain: str) -> str | None:
    """The send a bounce (or unsubscribe) address belongs to, for the inbound listener."""
    match = _VERP.match(address.strip().strip("<>"))
    if match is None or match.group(2).lower() != domain.lower():
        return None
    return match.group(1).lower()


# -- what an SMTP answer means ------------------------------------------------------------------

class Verdict(StrEnum):
    DELIVERED = "delivered"
    TEMPORARY = "temporary"  # nothing was delivered; trying again later may succeed
    PERMANENT = "permanent"  # nothing was delivered; trying again will not help
    UNKNOWN = "unknown"  # the message may have been delivered


def verdict_for_code(code: int) -> Verdict:
    """2xx delivered, 5xx permanent; 4xx (and anything odd) temporary."""
    if 200 <= code < 300:
        return Verdict.DELIVERED
    if 500 <= code < 600:
        return Verdict.PERMANENT
    return Verdict.TEMPORARY


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    verdict: Verdict
    reason: str = ""
    smtp_code: int | None = None
    accepted: tuple[str, ...] = ()
    refused: dict[str, str] = field(default_factory=dict)
    counts_as_attempt: bool = True  # False when the mailer itself stopped before trying


# -- retries -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RetryPolicy:
    initial_s: float
    max_s: float
    max_attempts: int
    max_age: timedelta


def backoff_delay(attempt: int, *, initial_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with equal jitter: half the step, plus a random share of the other half,
    so many sends failing together do not come back together."""
    step = min(max_s, initial_s * 2 ** max(attempt - 1, 0))
    return step / 2 + rng.uniform(0, step / 2)


def next_attempt_at(policy: RetryPolicy, *, attempts: int, now: datetime, rng: random.Random) -> datetime:
    delay = backoff_delay(attempts, initial_s=policy.initial_s, max_s=policy.max_s, rng=rng)
    return now + timedelta(seconds=delay)


def retries_exhausted(policy: RetryPolicy, *, attempts: int, created_at: datetime, now: datetime) -> bool:
    return attempts >= policy.max_attempts or now - created_at >= policy.max_age


# -- recipients ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Addressees:
    to: tuple[Recipient, ...]
    cc: tuple[Recipient, ...]
    suppressed: tuple[str, ...]

    @property
    def addresses(self) -> list[str]:
        return [r.email for r in (*self.to, *self.cc)]


def addressees(to: Sequence[Recipient], cc: Sequence[Recipient], suppressed: Iterable[str]) -> Addressees:
    """Who gets the email: every requested address not on the suppression list, each once."""
    blocked = {address.lower() for address in suppressed}
    seen: set[str] = set()
    kept: list[list[Recipient]] = [[], []]
    dropped: list[str] = []
    for index, group in enumerate((to, cc)):
        for recipient in group:
            key = recipient.email.lower()
            if key in blocked:
                dropped.append(recipient.email)
            elif key not in seen:
                seen.add(key)
                kept[index].append(recipient)
    return Addressees(tuple(kept[0]), tuple(kept[1]), tuple(dropped))


def one_line(text: str, limit: int = 998) -> str:
    """Header text on one line: CR, LF and runs of whitespace become one space (no header injection)."""
    return " ".join(text.split())[:limit]


def history_entry(at: datetime, state: SendState, note: str) -> HistoryEntry:
    return HistoryEntry(at=at, state=state, note=one_line(note, 500))


# -- what an outcome does to the ledger ----------------------------------------------------------

@dataclass(frozen=True)
class Report:
    """A delivery report to publish: delivered to some recipients, or failed for some."""

    recipients: tuple[str, ...]
    failure: Failure | None = None  # None: delivered


@dataclass(frozen=True)
class Decision:
    state: SendState
    attempts: int
    note: str
    next_attempt_at: datetime | None = None  # None: unchanged
    missed: dict[str, str] = field(default_factory=dict)  # of a delivered email: who did not get it, why
    failure: Failure | None = None
    reports: tuple[Report, ...] = ()
    dead_letter: bool = False


def decide(
    send: Send,
    outcome: Outcome,
    *,
    suppressed: Sequence[str],
    policy: RetryPolicy,
    unknown_policy: UnknownPolicy,
    now: datetime,
    rng: random.Random,
) -> Decision:
    """The ledger state, retry time and reports that follow from one attempt's outcome."""
    attempts = send.attempts + (1 if outcome.counts_as_attempt else 0)
    if outcome.verdict is Verdict.DELIVERED:
        return _delivered(outcome, suppressed, attempts)
    if outcome.verdict is Verdict.PERMANENT:
        failure = Failure(kind=FailureKind.PERMANENT, reason=outcome.reason, smtp_code=outcome.smtp_code,
                          refused=outcome.refused)
        return Decision(SendState.FAILED, attempts, outcome.reason, failure=failure,
                        reports=(Report(tuple(send.recipients), failure),))
    if outcome.verdict is Verdict.UNKNOWN and unknown_policy is UnknownPolicy.HOLD:
        failure = Failure(kind=FailureKind.UNKNOWN, reason=outcome.reason, smtp_code=outcome.smtp_code)
        return Decision(SendState.UNKNOWN, attempts, outcome.reason, failure=failure,
                        reports=(Report(tuple(send.recipients), failure),))
    if retries_exhausted(policy, attempts=attempts, created_at=send.created_at, now=now):
        reason = f"gave up after {attempts} attempts: {outcome.reason}"
        failure = Failure(kind=FailureKind.EXHAUSTED, reason=reason, smtp_code=outcome.smtp_code,
                          refused=outcome.refused)
        return Decision(SendState.FAILED, attempts, reason, failure=failure,
                        reports=(Report(tuple(send.recipients), failure),), dead_letter=True)
    # A send handed back untried keeps its due time: it is due again at once, and a relay down for
    # longer than the budget shows as a due time older than the budget (see claim_overdue).
    retry_at = next_attempt_at(policy, attempts=attempts, now=now, rng=rng) if outcome.counts_as_attempt else None
    return Decision(SendState.PENDING, attempts, outcome.reason, next_attempt_at=retry_at)


def _delivered(outcome: Outcome, suppressed: Sequence[str], attempts: int) -> Decision:
    reports = [Report(outcome.accepted)]
    missed = {**outcome.refused, **{address: "on the suppression list" for address in suppressed}}
    if missed:
        reason = "not sent to " + "; ".join(f"{address}: {why}" for address, why in missed.items())
        reports.append(Report(tuple(missed), Failure(kind=FailureKind.PERMANENT, reason=reason, refused=missed)))
    # One note for every delivered email (the relay's reply differs by queue id): the outcomes of a
    # batch are then written in one statement. The Message-ID is what finds it in the relay's logs.
    note = f"accepted by the relay ({outcome.smtp_code})"
    return Decision(SendState.SENT, attempts, note, missed=missed, reports=tuple(reports))


# -- claimed sends and what ends a claim ----------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """A claimed send on its way to the relay, with the recipients the suppression list takes out."""

    send: Send
    suppressed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finished:
    """A claimed send and what its attempt came to, waiting to be written."""

    job: Job
    outcome: Outcome


@dataclass(frozen=True)
class Finish:
    """The write that ends one claim: only the holder of the claim (its token) can make it."""

    send_id: str
    claim_token: str | None
    state: SendState
    note: str
    counted: bool  # the attempt counts against the retry budget
    fields: dict[str, Any]  # the row's other fields that change, by name


def finish_for(finished: Finished, decision: Decision, *, now: datetime, owner: str) -> Finish:
    """The ledger write of one decided outcome."""
    fields: dict[str, Any] = {"handled_by": owner}
    if decision.next_attempt_at is not None:
        fields["next_attempt_at"] = decision.next_attempt_at
    if decision.state is SendState.SENT:
        fields["sent_at"] = now
        fields["missed"] = decision.missed
    if decision.failure is not None:
        fields["failure"] = decision.failure.model_dump(mode="python")
    send = finished.job.send
    return Finish(send_id=send.send_id, claim_token=send.claim_token, state=decision.state, note=decision.note,
                  counted=finished.outcome.counts_as_attempt, fields=fields)


# -- what people ask of the ledger ------------------------------------------------------------------

@dataclass(frozen=True)
class SendQuery:
    """Which sends of a tenant to list (every given field must match)."""

    request_id: str | None = None
    action_id: str | None = None
    client_id: str | None = None
    state: SendState | None = None


class UnknownSend(Exception):
    """No such send for this tenant."""


class NotResendable(Exception):
    """Only an unknown or failed send can be sent again."""

    def __init__(self, send: Send) -> None:
        self.send = send
        super().__init__(f"send {send.send_id} is {send.state.value}: only unknown or failed sends can be resent")
