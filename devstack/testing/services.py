"""Run services in tests: per-test names, settings pointing at the test infrastructure, and an
in-process HTTP server on a free port (real HTTP, real lifespan)."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI

from devstack.processes import free_port
from devstack.testing.infra import Infrastructure

S = TypeVar("S")
T = TypeVar("T")


@dataclass(frozen=True)
class Isolation:
    """Names that keep one test's topics and databases apart from every other test's."""

    token: str

    @classmethod
    def new(cls) -> "Isolation":
        return cls("t" + uuid.uuid4().hex[:10])

    @property
    def topic_prefix(self) -> str:
        return f"{self.token}."

    def database(self, service: str) -> str:
        return f"{self.token}_{service}"


def service_env(
    infra: Infrastructure, isolation: Isolation, service: str, *, public_key: Path | None = None, **extra: Any
) -> dict[str, str]:
    """ARF_* variables for a service run as a subprocess against the test infrastructure."""
    env = {
        "ARF_KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "ARF_KAFKA_TOPIC_PREFIX": isolation.topic_prefix,
        "ARF_KAFKA_ENABLE_IDEMPOTENCE": str(infra.kafka_idempotence).lower(),
        "ARF_KAFKA_PARTITIONS": "3",
        "ARF_MONGODB_URL": infra.mongodb_url,
        "ARF_MONGODB_DATABASE": isolation.database(service),
        "ARF_OUTBOX_POLL_INTERVAL_S": "0.2",
        "ARF_KAFKA_SESSION_TIMEOUT_MS": "3000",
        "ARF_KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        "ARF_OUTBOX_REPUBLISH_ON_BROKER_RESET": str(infra.kafka_broker is not None).lower(),
        "ARF_LOG_JSON": "true",
    }
    if public_key:
        env["ARF_AUTH_PUBLIC_KEY_FILE"] = str(public_key)
    env.update({f"ARF_{key.upper()}": str(value) for key, value in extra.items()})
    return env


def service_settings(
    settings_cls: type[S], infra: Infrastructure, isolation: Isolation, service: str,
    *, public_key: Path | None = None, **overrides: Any,
) -> S:
    """Settings for a service run in-process against the test infrastructure."""
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
        "kafka_topic_prefix": isolation.topic_prefix,
        "kafka_enable_idempotence": infra.kafka_idempotence,
        "kafka_partitions": 3,
        "mongodb_url": infra.mongodb_url,
        "mongodb_database": isolation.database(service),
        "outbox_poll_interval_s": 0.2,
        "kafka_session_timeout_ms": 3000,
        "kafka_heartbeat_interval_ms": 1000,
        "outbox_republish_on_broker_reset": infra.kafka_broker is not None,
        "consumer_backoff_initial_s": 0.05,
        "consumer_backoff_max_s": 0.2,
        # Services under test run on manual clocks months in the past: with the default 14 days the
        # database's TTL sweep (every minute) would drop their processed-event records mid-test.
        "processed_event_ttl_days": 36_500,
        "auth_public_key_file": public_key,
    }
    values.update(overrides)
    return settings_cls(**values)


@asynccontextmanager
async def serve_app(app: FastAPI, *, ready_timeout_s: float = 60.0, port: int | None = None) -> AsyncIterator[str]:
    """Serve `app` on `port` (a free one by default) in this event loop; yields its base URL once /readyz says
    ready. Give the port when the app must know its own URL (links it puts in emails)."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base_url, timeout_s=ready_timeout_s, server_task=task)
        yield base_url
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=60)


async def wait_ready(base_url: str, *, timeout_s: float, server_task: asyncio.Task[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    async with httpx.AsyncClient(base_url=base_url, timeout=3.0) as client:
        while time.monotonic() < deadline:
            if server_task is not None and server_task.done():
                server_task.result()
                raise RuntimeError(f"{base_url} stopped before it was ready")
            try:
                response = await client.get("/readyz")
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{base_url} not ready after {timeout_s:.0f} s: {last}")


async def eventually(
    probe: Callable[[], Awaitable[T]], *, until: Callable[[T], bool] = bool, timeout_s: float = 30.0,
    interval_s: float = 0.1,
) -> T:
    """Poll `probe` until `until(result)` holds; returns the result, or raises with the last one."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s; last value: {result!r}")
        await asyncio.sleep(interval_s)
