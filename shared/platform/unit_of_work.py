"""The MongoDB unit of work: one transaction, its outbox rows, and a service's repositories bound to it.

A service gives a `bind(session, outgoing)` that builds its transaction object (repositories holding
the session, a publisher over `outgoing`); handlers only ever see that object (`shared.ports`).
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from shared.contracts.envelope import Envelope, EventPayload
from shared.platform.consumer import EventContext
from shared.platform.idempotency import RequestTransaction, current_request_transaction
from shared.platform.idempotency_mongo import joinable, open_request_transaction
from shared.platform.mongo import TransactionTimeout, run_in_transaction
from shared.platform.outbox import Outbox
from shared.ports import Duplicate, Flow, Keyed

T = TypeVar("T")
TxT = TypeVar("TxT")


class MongoOutgoing:
    """Stages events in the outbox, in the transaction of `session`; `deferred`, it keeps them until
    `flush` (a unit of work of its own flushes once, before committing: one outbox write per command)."""

    def __init__(self, outbox: Outbox, session: AsyncClientSession | None, flow: Flow | None, *,
                 deferred: bool = False) -> None:
        self._outbox, self._session, self._flow = outbox, session, flow
        self._pending: list[Envelope] | None = [] if deferred else None

    async def stage(self, payload: EventPayload, *, key_id: str, subject: str | None = None) -> None:
        await self._stage([self._envelope(payload, key_id, subject)])

    async def stage_all(self, events: Sequence[Keyed]) -> None:
        await self._stage([self._envelope(payload, key_id, None) for payload, key_id in events])

    def _envelope(self, payload: EventPayload, key_id: str, subject: str | None) -> Envelope:
        if self._flow is None:
            raise RuntimeError("events are published only from inside a unit of work")
        return self._outbox.envelope(payload, tenant_id=self._flow.tenant_id, key_id=key_id,
                                     correlation_id=self._flow.correlation_id,
                                     causation_id=self._flow.causation_id, subject=subject)

    async def _stage(self, envelopes: list[Envelope]) -> None:
        if self._session is None:
            raise RuntimeError("events are published only from inside a unit of work")
        if self._pending is not None:
            self._pending.extend(envelopes)
        else:
            await self._outbox.stage(self._session, envelopes)

    async def flush(self) -> None:
        if self._pending and self._session is not None:
            pending, self._pending = self._pending, []
            await self._outbox.stage(self._session, pending)


Bind = Callable[[AsyncClientSession | None, MongoOutgoing], TxT]


class MongoUnitOfWork(Generic[TxT]):
    """`run` for commands (a transaction of its own), `joined` for an event handler (the consumer's
    transaction, which also records the event as handled), `reading` for plain reads."""

    def __init__(self, *, client: AsyncMongoClient[Any], outbox: Outbox, bind: Bind[TxT]) -> None:
        self._client, self._outbox, self._bind = client, outbox, bind
        # Outside a transaction the repositories hold nothing per call: one set serves every read.
        self._reading = bind(None, MongoOutgoing(outbox, None, None))

    async def run(self, work: Callable[[TxT], Awaitable[T]], *, flow: Flow) -> T:
        """`work` in a transaction of its own; a duplicate key comes out as the port's `Duplicate`. In a
        request carrying an `Idempotency-Key`, `work` joins that request's transaction instead, which
        commits with the request's answer (`shared.platform.idempotency`)."""
        joined = current_request_transaction()
        if joined is not None and joinable(joined, self._client):
            return await self._run_joined(joined, work, flow)

        async def attempt(session: AsyncClientSession) -> T:
            outgoing = MongoOutgoing(self._outbox, session, flow, deferred=True)
            result = await work(self._bind(session, outgoing))
            await outgoing.flush()
            return result

        try:
            result = await run_in_transaction(self._client, attempt)
        except DuplicateKeyError as exc:
            raise Duplicate(str(exc)) from exc
        self._outbox.notify_committed()  # wakes the relay now rather than at its next sweep
        return result

    async def _run_joined(self, joined: RequestTransaction, work: Callable[[TxT], Awaitable[T]], flow: Flow) -> T:
        loop = asyncio.get_running_loop()
        session = joined.handle or await open_request_transaction(joined, self._client, loop.time())
        try:
            async with asyncio.timeout_at(joined.deadline) as bound:
                outgoing = MongoOutgoing(self._outbox, session, flow, deferred=True)
                result = await work(self._bind(session, outgoing))
                await outgoing.flush()
        except DuplicateKeyError as exc:
            joined.failed = exc
            raise Duplicate(str(exc)) from exc
        except TimeoutError as exc:
            joined.failed = exc
            if not bound.expired():
                raise
            raise TransactionTimeout("the request's transaction outlived its bound and was rolled back") from None
        except BaseException as exc:
            joined.failed = exc
            raise
        joined.joined += 1
        joined.after_commit.append(self._outbox.notify_committed)
        return result

    def joined(self, ctx: EventContext) -> TxT:
        outbox = ctx.outbox or self._outbox
        return self._bind(ctx.session, MongoOutgoing(outbox, ctx.session, Flow.caused_by(ctx.envelope)))

    def reading(self) -> TxT:
        """The repositories outside any transaction; in a keyed request whose transaction is open, bound to
        it, so what the request reads after a write sees that write (it commits only with the answer)."""
        joined = current_request_transaction()
        if joined is not None and joined.handle is not None and joinable(joined, self._client):
            return self._bind(joined.handle, MongoOutgoing(self._outbox, None, None))
        return self._reading


def in_consumer_transaction(handler: Callable[..., Awaitable[None]], uow: "MongoUnitOfWork[Any] | Any",
                            **kwargs: Any) -> Callable[[Any, EventContext], Awaitable[None]]:
    """A consumer route calling `handler(event, envelope, tx, **kwargs)` in the consumer's transaction (which
    also records the event as handled). Offline, where the consumer has no transaction (a service on fakes),
    in a unit of work of its own: all or nothing there too."""

    async def on_event(event: Any, ctx: EventContext) -> None:
        if ctx.session is None:
            await uow.run(lambda tx: handler(event, ctx.envelope, tx, **kwargs), flow=Flow.caused_by(ctx.envelope))
        else:
            await handler(event, ctx.envelope, uow.joined(ctx), **kwargs)
    return on_event
