"""The service runtime: connections, outbox relay, consumers and background workers of one process.

A service's composition root builds a `ServiceRuntime`, registers its consumers and workers in a
`wire` function, and gets an HTTP app from `shared.platform.http`. Startup never blocks on an
unreachable dependency: a supervisor keeps trying, logs one line naming what is missing, and
readiness stays false until MongoDB answers and the broker is connected.
"""

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from faststream.exceptions import NackMessage
from faststream.kafka.annotations import KafkaMessage
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.uri_parser import parse_uri

from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.topics import Topics
from shared.platform.clock import Clock, SystemClock
from shared.platform.consumer import EventContext, EventRouter, Handler, Route
from shared.platform.dead_letters import DeadLetters
from shared.platform.errors import RedeliveryNeeded
from shared.platform.inbox import ProcessedEvents
from shared.platform.kafka import KafkaPublisher, RawRecord, create_broker, ensure_topics
from shared.platform.metrics import Metrics
from shared.platform.mongo import create_mongo_client, database_name, ping
from shared.platform.outbox import Outbox
from shared.platform.relay import OutboxRelay
from shared.platform.settings import PlatformSettings

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


async def _raw_body(message: Any) -> bytes:
    return message.body


class ServiceRuntime:
    """Everything a service process runs besides its own rules."""

    def __init__(self, *, name: str, settings: PlatformSettings, clock: Clock | None = None,
                 offline: bool = False) -> None:
        self.name = name
        # Offline: the composition root was given in-memory adapters; no database, no broker, no workers.
        self.offline = offline
        self.settings = settings
        self.clock = clock or SystemClock()
        self.topics = Topics(settings.kafka_topic_prefix)
        self.metrics = Metrics(name)
        self.source = f"/services/{name}"
        self.instance = f"{name}-{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self.broker = create_broker(settings, client_id=f"arf-{name}", description=f"AR Follow-ups {name} service")
        self.publisher = KafkaPublisher(self.broker)
        self.mongo: AsyncMongoClient | None = None
        self._db: AsyncDatabase[Any] | None = None
        self._outbox: Outbox | None = None
        self.routers: list[EventRouter] = []
        self.published: list[type[EventPayload]] = []
        self._index_hooks: list[Hook] = []
        self._workers: list[Hook] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.mongo_ready = False
        self.kafka_ready = False
        self.relay: OutboxRelay | None = None

    # -- wiring (called by the service's composition root, before start) --

    @property
    def db(self) -> AsyncDatabase[Any]:
        if self._db is None:
            raise RuntimeError("the runtime is not started: the database exists inside the app's lifespan")
        return self._db

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            raise RuntimeError("the runtime is not started")
        return self._outbox

    def on_database_ready(self, hook: Hook) -> None:
        """Run once MongoDB answers (index creation, seed data), before consumers start."""
        self._index_hooks.append(hook)

    def add_worker(self, worker: Hook) -> None:
        """A loop (scheduler, listener) started once the service is connected, cancelled at shutdown."""
        self._workers.append(worker)

    def event_router(self, consumer: str, *, batch_size: int = 1) -> EventRouter:
        """A consumer group of this service; register handlers on it with `router.on(...)`.

        With `batch_size` > 1 the group reads up to that many records at a time and handles them in one
        transaction (handlers may buffer writes in `ctx.scope` and flush once); a failing batch is
        retried one record at a time."""
        if self.offline:
            offline = OfflineRouter(consumer)
            self.routers.append(offline)  # type: ignore[arg-type]
            return offline  # type: ignore[return-value]
        router = EventRouter(
            consumer=consumer,
            client=self._client(),
            processed=ProcessedEvents(self.db, ttl=timedelta(days=self.settings.processed_event_ttl_days)),
            outbox=self.outbox,
            dead_letters=DeadLetters(publisher=self.publisher, db=self.db, consumer=consumer),
            metrics=self.metrics,
            settings=self.settings,
            clock=self.clock,
            batch_size=batch_size,
        )
        self.routers.append(router)
        return router

    def document_publications(self, payloads: Sequence[type[EventPayload]]) -> None:
        """Declare what this service publishes, for the AsyncAPI document (the outbox does the sending)."""
        self.published.extend(payload for payload in payloads if payload not in self.published)

    # -- lifecycle --

    async def open(self) -> None:
        """Create clients (no I/O yet): the database and outbox exist for wiring from here on."""
        if self.offline:
            return
        self.mongo = create_mongo_client(self.settings, appname=f"arf-{self.name}")
        self._db = self.mongo[database_name(self.settings, self.name)]
        self._outbox = Outbox(self._db, source=self.source, topics=self.topics, clock=self.clock)

    def start(self) -> None:
        """Connect in the background; the HTTP server answers (not ready) meanwhile."""
        if self.offline:
            self.mongo_ready = self.kafka_ready = True
            return
        for router in self.routers:
            self._subscribe(router)
        self._tasks.append(asyncio.create_task(self._supervise(), name=f"{self.name}-supervisor"))

    async def stop(self) -> None:
        """Stop consuming (in-flight handlers finish), flush the outbox, stop workers, close MongoDB."""
        for router in self.routers:
            router.stopping = True
        for subscriber in self.broker.subscribers:
            await _quietly(subscriber.stop())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.relay is not None and self.kafka_ready:
            if not await self.relay.drain(timeout_s=5.0):
                log.warning("outbox not fully flushed at shutdown: the next start publishes the rest")
        await _quietly(self.broker.stop())
        self.kafka_ready = False
        if self.mongo is not None:
            await self.mongo.close()

    async def readiness(self) -> dict[str, str]:
        """Per dependency, 'ok' or the reason it is not usable right now."""
        checks = {"mongodb": "ok", "kafka": "ok"}
        if self.offline:
            return {"in_memory_adapters": "ok"}
        try:
            await asyncio.wait_for(ping(self.db), timeout=1.5)
        except Exception as exc:
            checks["mongodb"] = _one_line(exc) or "unreachable"
        if not self.kafka_ready:
            checks["kafka"] = "not connected"
        elif not await self.broker.ping(1.5):
            checks["kafka"] = "unreachable"
        if checks["mongodb"] == "ok" and not self.mongo_ready:
            checks["mongodb"] = "starting"
        return checks

    # -- internals --

    def _client(self) -> AsyncMongoClient:
        if self.mongo is None:
            raise RuntimeError("the runtime is not started")
        return self.mongo

    def _subscribe(self, router: EventRouter) -> None:
        async def on_message(message: KafkaMessage) -> None:
            raw = message.raw_message
            try:
                if isinstance(raw, tuple):
                    await router.consume_batch([RawRecord.from_consumer_record(record) for record in raw])
                else:
                    await router.consume(RawRecord.from_consumer_record(raw))
            except RedeliveryNeeded as exc:
                log.error("%s; the message will be read again", exc)
                await asyncio.sleep(2.0)
                raise NackMessage() from exc
            except Exception as exc:  # a bug in our plumbing: never acknowledge what was not handled
                log.exception("unexpected failure consuming from %s; the message will be read again", router.consumer)
                await asyncio.sleep(2.0)
                raise NackMessage() from exc

        # One group member subscribed to every topic of the consumer: one member per topic made each
        # join rebalance all the others, and a start took seconds per topic.
        topics = [self.topics(stream) for stream in router.streams()]
        if not topics:
            return
        batching: dict[str, Any] = (
            {"batch": True, "max_records": router.batch_size, "batch_timeout_ms": 100} if router.batch_size > 1 else {}
        )
        self.broker.subscriber(
            *topics,
            # The prefix keeps environments sharing a cluster (and tests sharing a broker) in groups of their
            # own: a member of another environment's group would hold every join up for its rebalance timeout.
            group_id=f"{self.settings.kafka_topic_prefix}{router.consumer}",
            auto_offset_reset="earliest",
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.settings.kafka_heartbeat_interval_ms,
            decoder=_raw_body,
            title=f"{router.consumer}:{','.join(topics)}",
            description=router.describe(),
            **batching,
        )(on_message)

    async def _supervise(self) -> None:
        await self._wait_for_mongo()
        for hook in [self._ensure_platform_indexes, *self._index_hooks]:
            await hook()
        self.mongo_ready = True
        await self._connect_kafka()
        self.relay = OutboxRelay(
            db=self.db, outbox=self.outbox, publisher=self.publisher, settings=self.settings,
            metrics=self.metrics, clock=self.clock, owner=self.instance,
            topics_to_ensure=self.topics.all_with_dead_letters(),
            marker_topic=f"{self.settings.kafka_topic_prefix}arf._relay.{self.db.name}",
        )
        for worker in [self.relay.run, *self._workers]:
            label = getattr(worker, "__qualname__", None) or repr(worker)  # a partial has no __qualname__
            self._tasks.append(asyncio.create_task(_forever(worker), name=f"{self.name}-{label}"))
        log.info("%s is ready", self.name)

    async def _ensure_platform_indexes(self) -> None:
        await self.outbox.ensure_indexes()
        await ProcessedEvents(self.db, ttl=timedelta(days=self.settings.processed_event_ttl_days)).ensure_indexes()

    async def _wait_for_mongo(self) -> None:
        failures = 0
        while True:
            try:
                await ping(self.db)
                if failures:
                    log.info("MongoDB is reachable again")
                return
            except Exception as exc:
                if failures == 0:
                    log.error("MongoDB unreachable at %s: %s; retrying", _mongo_hosts(self.settings), _one_line(exc))
                failures += 1
                await asyncio.sleep(min(1.0 * failures, 5.0))

    async def _connect_kafka(self) -> None:
        failures = 0
        while True:
            try:
                await ensure_topics(self.settings, self.topics.all_with_dead_letters())
                await self.broker.start()
                self.kafka_ready = True
                return
            except Exception as exc:
                if failures == 0:
                    log.error("Kafka unreachable at %s: %s; retrying", self.settings.kafka_bootstrap_servers,
                              _one_line(exc))
                failures += 1
                await _quietly(self.broker.stop())
                await asyncio.sleep(min(1.0 * failures, 5.0))


class OfflineRouter:
    """The routes of a consumer group when the service runs on in-memory adapters: a unit test delivers
    an envelope to the handler the service registered for its type, as the consumer would."""

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        self.routes: dict[str, Route] = {}
        self.handled: set[str] = set()  # event ids, as the consumer's processed-events record keeps them

    def on(self, payload_cls: type[EventPayload], handler: Handler, *, transactional: bool = True) -> None:
        self.routes[payload_cls.type_name()] = Route(payload_cls, handler, transactional)

    async def deliver(self, envelope: Envelope) -> None:
        """Hand the event to its handler once: a redelivered event id changes nothing, as with the consumer."""
        if envelope.id in self.handled:
            return
        route = self.routes[envelope.type]
        await route.handler(envelope.payload(route.payload_cls), EventContext(envelope=envelope, session=None,
                                                                               outbox=None))
        self.handled.add(envelope.id)


async def _forever(worker: Hook) -> None:
    """Run a worker; if it dies, log why and start it again (a worker must never silently stop)."""
    while True:
        try:
            await worker()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker %s stopped; restarting in 2 s", getattr(worker, "__qualname__", worker))
            await asyncio.sleep(2.0)


async def _quietly(awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except Exception:
        pass


def _mongo_hosts(settings: PlatformSettings) -> str:
    try:
        nodes = parse_uri(settings.mongodb_url.get_secret_value())["nodelist"]
        return ",".join(f"{host}:{port}" for host, port in nodes)
    except Exception:
        return "the configured ARF_MONGODB_URL"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
