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
from typing import Any

from pydantic import ValidationError
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import ConnectionFailure, PyMongoError

from shared.contracts.envelope import Envelope, EventPayload
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


@dataclass(frozen=True)
class EventContext:
    """What a handler gets beside the payload: the envelope, and for transactional handlers the
    session of the transaction that also records the event as handled."""

    envelope: Envelope
    session: AsyncClientSession | None
    outbox: Outbox | None

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
    ) -> None:
        self.consumer = consumer
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
        try:
            envelope = Envelope.model_validate_json(record.value)
        except ValidationError as exc:
            await self._dead_letter(record, PermanentError(f"not an event envelope: {_first_error(exc)}"), 1, None)
            return
        with log_context(correlation_id=envelope.correlation_id, event_id=envelope.id, tenant_id=envelope.tenant_id):
            await self._route(record, envelope)

    async def _route(self, record: RawRecord, envelope: Envelope) -> None:
        replay_for = record.headers.get(REPLAY_HEADER)
        if replay_for and replay_for != self.consumer:
            self._count(envelope.type, "skipped")
            return
        route = self.routes.get(envelope.type)
        if route is None:
            self._count(envelope.type, "unknown_type")
            return
        try:
            payload = envelope.payload(route.payload_cls)
        except ValidationError as exc:
            error = PermanentError(f"{envelope.type} payload does not match its contract: {_first_error(exc)}")
            await self._dead_letter(record, error, 1, envelope)
            return
        await self._handle_with_retries(record, envelope, payload, route)

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
                await route.handler(payload, EventContext(envelope, session, self.outbox))
            return first

        handled = await run_in_transaction(self.client, work)
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


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"
