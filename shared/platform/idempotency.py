"""Idempotent writes: the `Idempotency-Key` header on every mutating request of every service.

The first request with a key is processed; its answer (status, body, headers) is kept with a
fingerprint of the request (method, path and query, body hash), per tenant (from the verified token)
and key. A retry with the same key and the same request gets the kept answer back, marked
`Idempotent-Replayed: true`, and changes nothing; the same key with another request is refused (422);
a retry while the first is still in flight gets 409. Answers expire after `ARF_IDEMPOTENCY_TTL_HOURS`.
A request without the header is passed through untouched.

Where the answer is written, so that it and the change never disagree after a crash: in the request's
own transaction. While a keyed request runs, every unit of work it starts (`MongoUnitOfWork.run`)
joins one `RequestTransaction` instead of committing on its own; once the route has answered, the
answer is written in that transaction and the whole commits at once. A crash before the commit
leaves neither the change nor the answer (the key is only "in flight": after its lease another try
processes the request again); after the commit both are there and a retry is replayed. A request
that fails (5xx, or a unit of work that raised) is rolled back and its key released.
"""

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
MAX_ATTEMPTS = 5  # a request whose transaction meets a write conflict runs again, as a unit of work would
# Headers that belong to one exchange, not to the answer: never kept, never replayed.
_UNKEPT = frozenset({b"x-correlation-id", b"date", b"server", b"set-cookie", b"content-length"})


@dataclass
class Answer:
    """What the first request was answered: replayed byte for byte to its retries."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class Record:
    """One key of one tenant: the request it belongs to and, once committed, its answer."""

    tenant_id: str
    key: str
    fingerprint: str
    state: Literal["in_flight", "done"]
    owner: str
    lease_until: float  # epoch seconds
    expires_at: float
    answer: Answer | None = None


Begun = Literal["proceed", "replay", "in_flight", "mismatch"]


class IdempotencyStore(Protocol):
    """Where keys and answers are kept: the service's own database (MongoDB), or memory offline."""

    async def begin(self, record: Record, *, now: float) -> tuple[Begun, Record | None]:
        """Reserve `record`'s key for its owner, or say why not (with the record found)."""
        ...

    async def complete(self, record: Record, transaction: Any) -> bool:
        """Keep the answer (in `transaction` when the request opened one); False if the owner lost the key."""
        ...

    async def release(self, record: Record) -> None:
        """Give the key up (the request was rolled back): a retry processes it again."""
        ...


@dataclass
class RequestTransaction:
    """The one transaction a keyed request's units of work join, committed with the answer in it.

    A unit of work opens it on its first run (`handle`, `owner` its client, `commit`/`abort`);
    `failed` is the first exception a unit of work raised in it (the request is then rolled back)."""

    handle: Any = None
    owner: Any = None
    commit: Callable[[], Awaitable[None]] | None = None
    abort: Callable[[], Awaitable[None]] | None = None
    deadline: float | None = None  # loop time past which the joined units of work are cancelled
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    joined: int = 0
    failed: BaseException | None = None
    closed: bool = False


_current: ContextVar[RequestTransaction | None] = ContextVar("arf_request_transaction", default=None)


def current_request_transaction() -> RequestTransaction | None:
    """The keyed request's transaction this task runs in, if any (a task outliving its request gets None)."""
    joined = _current.get()
    return None if joined is None or joined.closed else joined


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """The request's identity for its key: same method, path, query and body bytes, same fingerprint."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, hashlib.sha256(body).digest()):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


TenantOf = Callable[[Scope], Awaitable[str | None]]


class IdempotencyMiddleware:
    """ASGI middleware applying the rules above to POST/PUT/PATCH/DELETE requests carrying the header."""

    def __init__(self, app: ASGIApp, *, store: Callable[[], IdempotencyStore], tenant_of: TenantOf,
                 ttl_s: Callable[[], float], lease_s: Callable[[], float], instance: str) -> None:
        self.app, self._store, self._tenant_of = app, store, tenant_of
        self._ttl_s, self._lease_s, self._instance = ttl_s, lease_s, instance
        self._requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _key_of(scope) if scope["type"] == "http" and scope["method"] in MUTATING else None
        if key is None:
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            await _problem(send, 400, "Invalid Idempotency-Key",
                           f"the {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable characters")
            return
        tenant_id = await self._tenant_of(scope)
        if tenant_id is None:  # no valid token: the route answers 401 as it would without a key
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        self._requests += 1
        now = time.time()
        record = Record(tenant_id=tenant_id, key=key, owner=f"{self._instance}:{self._requests}",
                        fingerprint=fingerprint(scope["method"], scope["path"], scope.get("query_string", b""), body),
                        state="in_flight", lease_until=now + self._lease_s(), expires_at=now + self._ttl_s())
        store = self._store()
        try:
            outcome, found = await store.begin(record, now=now)
        except Exception as exc:  # the database is away: nothing was done, the client may retry with its key
            log.warning("Idempotency-Key %r could not be reserved: %s", key, exc)
            await _problem(send, 503, "Service unavailable", "the database is unavailable; try again shortly")
            return
        if outcome == "replay" and found is not None and found.answer is not None:
            await _send(send, found.answer, replayed=True)
        elif outcome == "mismatch":
            await _problem(send, 422, "Idempotency-Key reused",
                           f"this {HEADER} was first used with another request (method, path or body)")
        elif outcome != "proceed":
            retry_after = max(1, int((found.lease_until if found else now) - now + 0.999))
            await _problem(send, 409, "Request in progress",
                           f"a request with this {HEADER} is still being processed; retry later",
                           headers=[(b"retry-after", str(retry_after).encode())])
        else:
            await send_answer(send, await self._process(scope, body, record, store))

    async def _process(self, scope: Scope, body: bytes, record: Record, store: IdempotencyStore) -> Answer:
        """Run the request in its transaction, again on a transient conflict; keep the answer if it committed."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            joined = RequestTransaction()
            try:
                answer = await _run(self.app, scope, body, joined)
            except BaseException:
                if not (_transient(joined.failed) and attempt < MAX_ATTEMPTS):
                    await _close(joined, commit=False)
                    await store.release(record)
                    raise
                answer = _problem_answer(500, "Internal error", "transient conflict")
            if _transient(joined.failed) and attempt < MAX_ATTEMPTS:
                await _close(joined, commit=False)
                await asyncio.sleep(0.01 * attempt)
                continue
            return await self._settle(answer, record, store, joined)
        raise AssertionError("unreachable")  # the loop returns on its last attempt

    async def _settle(self, answer: Answer, record: Record, store: IdempotencyStore,
                      joined: RequestTransaction) -> Answer:
        rolled_back = answer.status >= 500 or (joined.failed is not None and joined.joined > 0)
        if rolled_back:
            await _close(joined, commit=False)
            await store.release(record)
            return answer
        record.state, record.answer = "done", _kept(answer)
        if joined.failed is not None:  # a unit of work raised (the route answered 4xx): none of its writes stay
            await _close(joined, commit=False)
        try:
            if not await store.complete(record, joined.handle if joined.failed is None else None):
                raise LookupError("the key was taken over by another request")
            if not joined.closed:
                await _close(joined, commit=True)
        except Exception as exc:  # nothing committed: say so, and let the client retry with its key
            log.warning("the answer of Idempotency-Key %r was not kept (%s): rolled back", record.key, exc)
            if not joined.closed:
                await _close(joined, commit=False)
            await store.release(record)
            return _problem_answer(503, "Request not applied",
                                   "the request could not be committed; retry it with the same key")
        return answer


async def _run(app: ASGIApp, scope: Scope, body: bytes, joined: RequestTransaction) -> Answer:
    """The app's answer to the request (its body replayed from memory), buffered rather than sent."""
    answer = Answer(status=500, headers=[], body=b"")
    chunks: list[bytes] = []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            await asyncio.Event().wait()  # a second read waits for a disconnect that never comes, like a server
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status, answer.headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    token = _current.set(joined)
    try:
        await app(scope, receive, capture)
    except Exception as exc:
        joined.failed = joined.failed or exc
        raise
    finally:
        _current.reset(token)
    answer.body = b"".join(chunks)
    return answer


async def _close(joined: RequestTransaction, *, commit: bool) -> None:
    joined.closed = True
    if commit and joined.commit is not None:
        await joined.commit()
        for hook in joined.after_commit:
            hook()
    elif joined.abort is not None:
        await joined.abort()


def _transient(exc: BaseException | None) -> bool:
    labels = getattr(exc, "has_error_label", None)
    return bool(labels and labels("TransientTransactionError"))


def _kept(answer: Answer) -> Answer:
    return Answer(answer.status, [(k, v) for k, v in answer.headers if k.lower() not in _UNKEPT], answer.body)


def _key_of(scope: Scope) -> str | None:
    """The key as sent; the draft makes it a Structured Field string (`"abc"`), also taken bare (`abc`)."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"idempotency-key":
            key = value.decode("latin-1").strip()
            return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _problem_answer(status: int, title: str, detail: str,
                    headers: list[tuple[bytes, bytes]] | None = None) -> Answer:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    return Answer(status, [(b"content-type", b"application/problem+json"), *(headers or [])], body)


async def _problem(send: Send, status: int, title: str, detail: str,
                   headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send_answer(send, _problem_answer(status, title, detail, headers))


async def _send(send: Send, answer: Answer, *, replayed: bool) -> None:
    extra = [(REPLAYED_HEADER.lower().encode(), b"true")] if replayed else []
    await send_answer(send, Answer(answer.status, [*answer.headers, *extra], answer.body))


async def send_answer(send: Send, answer: Answer) -> None:
    """Send a buffered answer, with its length."""
    headers = [(k, v) for k, v in answer.headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


class MemoryIdempotencyStore:
    """Keys and answers in memory: a service running offline on fakes (and the rules' unit tests)."""

    def __init__(self) -> None:
        self.records: MutableMapping[tuple[str, str], Record] = {}

    async def begin(self, record: Record, *, now: float) -> tuple[Begun, Record | None]:
        found = self.records.get((record.tenant_id, record.key))
        if found is None or found.expires_at <= now:
            self.records[(record.tenant_id, record.key)] = record
            return "proceed", None
        return _verdict(found, record, now, take_over=lambda: self.records.__setitem__(
            (record.tenant_id, record.key), record))

    async def complete(self, record: Record, transaction: Any) -> bool:
        found = self.records.get((record.tenant_id, record.key))
        if found is None or found.owner != record.owner:
            return False
        self.records[(record.tenant_id, record.key)] = record
        return True

    async def release(self, record: Record) -> None:
        found = self.records.get((record.tenant_id, record.key))
        if found is not None and found.owner == record.owner and found.state == "in_flight":
            del self.records[(record.tenant_id, record.key)]


def _verdict(found: Record, record: Record, now: float, *, take_over: Callable[[], Any]) -> tuple[Begun, Record]:
    """What an existing record means for a new request with the same key (`take_over` after a crash)."""
    if found.fingerprint != record.fingerprint:
        return "mismatch", found
    if found.state == "done":
        return "replay", found
    if found.lease_until > now:
        return "in_flight", found
    take_over()
    return "proceed", found
