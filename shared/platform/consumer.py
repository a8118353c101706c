"""The idempotent consumer: decode the envelope, skip what was handled, call the handler, retry,
dead-letter what cannot be handled, and keep going.

A service builds one `EventRouter` per consumer group, registers one handler per event type, and
subscribes it to the topics it reads. Handlers are plain async functions `(payload, ctx)`.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import ConnectionFailure, PyMongoError

from shared.contracts.envelope import Envelope, EventPayload, NotAnEvent
from shared.contracts.registry import payload_class
from shared.contracts.topics import Stream
from shared.platform.clock import Clock
from shared.platform.dead_letters import DeadLetters
from shared.platform.errors import PermanentError, RedeliveryNeeded
from shared.platform.inbox import ProcessedEvents
from shared.platform.kafka import REPLAY_HEADER, RawRecord
from shared.platform.logging import log_context
from shared.platform.metrics import Metrics
from shared.platform.mongo import run_in_transaction
from shared.platform.outbox import Outbox
from shared.platform.settings import ConsumerSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


class TransactionScope:
    """Per-transaction state shared by the handlers of one transaction (one event, or a batch):
    a service keeps write buffers here and flushes them once, just before the commit."""

    def __init__(self) -> None:
        self._state: dict[str, Any] = {}
        self._flushes: list[Callable[[], Awaitable[None]]] = []

    def state(self, key: str, factory: Callable[[], T]) -> T:
        """The object stored under `key` in this transaction, created by `factory` the first time."""
        if key not in self._state:
            self._state[key] = factory()
        return self._state[key]  # type: ignore[no-any-return]

    def on_flush(self, flush: Callable[[], Awaitable[None]]) -> None:
        self._flushes.append(flush)

    async def flush(self) -> None:
        for flush in self._flushes:
            await flush()


@dataclass(frozen=True)
class EventContext:
    """What a handler gets beside the payload: the envelope, and for transactional handlers the
    session of the transaction that also records the event as handled, and its scope."""

    envelope: Envelope
    session: AsyncClientSession | None
    outbox: Outbox | None
    scope: TransactionScope | None = None

    async def stage(self, payload: EventPayload, *, key_id: str, subject: str | None = None) -> None:
        """Publish an event caused by this one, in the same transaction (same tenant, same flow)."""
        if self.session is None or self.outbox is None:
            raise RuntimeError("only a transactional handler can stage events")
        envelope = self.outbox.envelope(
            payload,
            tenant_id=self.envelope.tenant_id,
            key_id=key_id,
            correlation_id=self.envelope.correlation_id,
            causation_id=self.envelope.id,
            subject=subject,
        )
        await self.outbox.stage(self.session, [envelope])


Handler = Callable[[Any, EventContext], Awaitable[None]]


@dataclass(frozen=True)
class Decoded:
    record: RawRecord
    envelope: Envelope
    payload: Any
    route: "Route"


@dataclass(frozen=True)
class Route:
    payload_cls: type[EventPayload]
    handler: Handler
    transactional: bool


def _is_infrastructure_error(exc: BaseException) -> bool:
    """MongoDB away or failing over: not the message's fault, so it is retried until it passes."""
    if isinstance(exc, ConnectionFailure):
        return True
    return isinstance(exc, PyMongoError) and exc.has_error_label("TransientTransactionError")


class EventRouter:
    def __init__(
        self,
        *,
        consumer: str,
        client: AsyncMongoClient,
        processed: ProcessedEvents,
        outbox: Outbox | None,
        dead_letters: DeadLetters,
        metrics: Metrics,
        settings: ConsumerSettings,
        clock: Clock,
        batch_size: int = 1,
    ) -> None:
        self.consumer = consumer
        self.batch_size = batch_size
        self.client = client
        self.processed = processed
        self.outbox = outbox
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.settings = settings
        self.clock = clock
        self.routes: dict[str, Route] = {}
        self.stopping = False

    def on(self, payload_cls: type[EventPayload], handler: Handler, *, transactional: bool = True) -> None:
        """Route one event type to its handler. A non-transactional handler ensures its own idempotency."""
        self.routes[payload_cls.type_name()] = Route(payload_cls, handler, transactional)

    async def consume(self, record: RawRecord) -> None:
        """Handle one record to the end: handled, skipped, or dead-lettered; never raises for bad data."""
        decoded = await self._decode(record)
        if decoded is not None:
            with log_context(correlation_id=decoded.envelope.correlation_id, event_id=decoded.envelope.id,
                             tenant_id=decoded.envelope.tenant_id):
                await self._handle_with_retries(decoded.record, decoded.envelope, decoded.payload, decoded.route)

    async def consume_batch(self, records: list[RawRecord]) -> None:
        """Handle records in one transaction (one commit, one dedupe query); if that fails, one by one,
        so a poison message is isolated and dead-lettered alone."""
        started = time.perf_counter()
        await self._consume_batch(records)
        self.metrics.batch_events.labels(consumer=self.consumer).observe(len(records))
        self.metrics.batch_seconds.labels(consumer=self.consumer).observe(time.perf_counter() - started)

    async def _consume_batch(self, records: list[RawRecord]) -> None:
        batch = [decoded for record in records if (decoded := await self._decode(record)) is not None]
        if not batch:
            return
        if len(batch) == 1 or not all(item.route.transactional for item in batch):
            for item in batch:
                await self._handle_with_retries(item.record, item.envelope, item.payload, item.route)
            return
        started = time.perf_counter()
        try:
            handled = await self._handle_batch_once(batch)
        except Exception as exc:
            log.warning("a batch of %d events failed (%r); handling them one by one", len(batch), exc)
            for item in batch:
                with log_context(correlation_id=item.envelope.correlation_id, event_id=item.envelope.id,
                                 tenant_id=item.envelope.tenant_id):
                    await self._handle_with_retries(item.record, item.envelope, item.payload, item.route)
            return
        seconds = (time.perf_counter() - started) / len(batch)
        for item in batch:
            self.metrics.handler_seconds.labels(consumer=self.consumer, type=item.envelope.type).observe(seconds)
            first = item.envelope.id in handled
            handled.discard(item.envelope.id)
            self._count(item.envelope.type, "handled" if first else "duplicate")

    async def _decode(self, record: RawRecord) -> Decoded | None:
        """The record's envelope, route and payload; None when it was skipped or dead-lettered."""
        if len(record.value) > self.settings.consumer_max_record_bytes:
            error = PermanentError(f"record of {len(record.value)} bytes is over the limit of "
                                   f"{self.settings.consumer_max_record_bytes}: not read")
            await self._dead_letter(record, error, 1, None)
            return None
        try:
            envelope = Envelope.from_kafka(record.value, record.headers, record.key)
        except NotAnEvent as exc:
            await self._dead_letter(record, PermanentError(str(exc)), 1, None)
            return None
        if (refused := _wrong_tenant(record, envelope)) is not None:
            await self._dead_letter(record, PermanentError(refused), 1, envelope)
            return None
        replay_for = record.headers.get(REPLAY_HEADER)
        if replay_for and replay_for != self.consumer:
            self._count(envelope.type, "skipped")
            return None
        route = self.routes.get(envelope.type)
        if route is None and (handled := self._other_versions(envelope.type)):
            if payload_class(envelope.type) is None:
                self._count(envelope.type, "unknown_type")
            error = PermanentError(f"{envelope.type}: a version this consumer does not handle (it handles "
                                   f"{', '.join(handled)})")
            await self._dead_letter(record, error, 1, envelope)
            return None
        if route is None:
            if payload_class(envelope.type) is not None:
                self._count(envelope.type, "not_handled_here")  # another consumer group's business
                return None
            # a type (or version) no contract defines: kept on the dead-letter topic, to replay once known
            self._count(envelope.type, "unknown_type")
            await self._dead_letter(record, PermanentError(f"unknown event type {envelope.type!r} on {record.topic}"),
                                    1, envelope)
            return None
        try:
            payload = envelope.payload(route.payload_cls)
        except ValidationError as exc:
            error = PermanentError(f"{envelope.type} payload does not match its contract: {_first_error(exc)}")
            await self._dead_letter(record, error, 1, envelope)
            return None
        return Decoded(record, envelope, payload, route)

    async def _handle_batch_once(self, batch: list[Decoded]) -> set[str]:
        async def work(session: AsyncClientSession) -> set[str]:
            first = await self.processed.first_times(
                consumer=self.consumer, events=[(item.envelope.id, item.envelope.type) for item in batch],
                at=self.clock.now(), session=session,
            )
            scope = TransactionScope()
            pending = set(first)
            for item in batch:
                if item.envelope.id in pending:  # a redelivery inside the batch is handled once
                    pending.discard(item.envelope.id)
                    await item.route.handler(item.payload, EventContext(item.envelope, session, self.outbox, scope))
            await scope.flush()
            return first

        handled = await self._transact(work)
        if handled and self.outbox is not None:
            self.outbox.notify_committed()
        return handled

    async def _transact(self, work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """`work` in one transaction; every start after the first (a write conflict, mostly) is counted."""
        starts = 0

        async def counted(session: AsyncClientSession) -> T:
            nonlocal starts
            starts += 1
            return await work(session)

        try:
            return await run_in_transaction(self.client, counted)
        finally:
            if starts > 1:
                self.metrics.transaction_retries.labels(consumer=self.consumer).inc(starts - 1)

    async def _handle_with_retries(self, record: RawRecord, envelope: Envelope, payload: Any, route: Route) -> None:
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                first_time = await self._handle_once(envelope, payload, route)
            except (PermanentError, ValidationError) as exc:
                self._failed(envelope.type, exc)
                await self._dead_letter(record, exc, attempt, envelope)
                return
            except Exception as exc:
                self._failed(envelope.type, exc)
                if _is_infrastructure_error(exc):
                    if self.stopping:
                        raise RedeliveryNeeded(f"stopping while MongoDB is away: {envelope.type} not handled") from exc
                    log.warning("waiting for MongoDB to handle %s: %s", envelope.type, str(exc).splitlines()[0])
                elif attempt >= self.settings.consumer_max_attempts:
                    await self._dead_letter(record, exc, attempt, envelope)
                    return
                else:
                    log.warning("attempt %d of %s failed: %r", attempt, envelope.type, exc)
                await asyncio.sleep(self._backoff(attempt))
                continue
            self.metrics.handler_seconds.labels(consumer=self.consumer, type=envelope.type).observe(
                time.perf_counter() - started
            )
            self._count(envelope.type, "handled" if first_time else "duplicate")
            return

    async def _handle_once(self, envelope: Envelope, payload: Any, route: Route) -> bool:
        if not route.transactional:
            await route.handler(payload, EventContext(envelope, None, None))
            return True

        async def work(session: AsyncClientSession) -> bool:
            first = await self.processed.first_time(
                consumer=self.consumer, event_id=envelope.id, event_type=envelope.type,
                at=self.clock.now(), session=session,
            )
            if first:
                scope = TransactionScope()
                await route.handler(payload, EventContext(envelope, session, self.outbox, scope))
                await scope.flush()
            return first

        handled = await self._transact(work)
        if handled and self.outbox is not None:
            self.outbox.notify_committed()
        return handled

    async def _dead_letter(
        self, record: RawRecord, error: BaseException, attempts: int, envelope: Envelope | None
    ) -> None:
        await self.dead_letters.send(
            record, error=error, attempts=attempts, event_id=envelope.id if envelope else None, at=self.clock.now()
        )
        self._count(envelope.type if envelope else "undecodable", "dead_lettered")

    def _other_versions(self, event_type: str) -> list[str]:
        """The versions of the same event this consumer handles: a newer (or older) one must not be lost."""
        name = event_type.rsplit(".v", 1)[0]
        return sorted(known for known in self.routes if known.rsplit(".v", 1)[0] == name)

    def _backoff(self, attempt: int) -> float:
        return min(self.settings.consumer_backoff_initial_s * 2 ** (attempt - 1), self.settings.consumer_backoff_max_s)

    def _count(self, event_type: str, outcome: str) -> None:
        self.metrics.events_consumed.labels(consumer=self.consumer, type=event_type, outcome=outcome).inc()

    def _failed(self, event_type: str, exc: BaseException) -> None:
        self.metrics.events_failed.labels(consumer=self.consumer, type=event_type, error=type(exc).__name__).inc()

    def describe(self) -> str:
        return "Handles: " + ", ".join(sorted(self.routes)) if self.routes else "Handles nothing yet"

    def streams(self) -> list[Stream]:
        """The streams this consumer reads: one subscription per topic."""
        return sorted({route.payload_cls.stream for route in self.routes.values()})


def _wrong_tenant(record: RawRecord, envelope: Envelope) -> str | None:
    """Why the record's key or partition key belongs to another tenant than the event, or None: an event
    filed under one tenant's key but naming another would reach that tenant's data."""
    prefix = f"{envelope.tenant_id}:"
    key = record.key.decode("utf-8", "replace") if record.key is not None else envelope.partitionkey
    if not key.startswith(prefix) or not envelope.partitionkey.startswith(prefix):
        return f"tenant {envelope.tenant_id!r} does not own the key {key!r} (partition key {envelope.partitionkey!r})"
    return None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"
