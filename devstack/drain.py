"""Before the local broker stops (it forgets everything), wait until every outbox is published and
every consumer group has read everything on its topics."""

import asyncio
import time

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition


async def outbox_pending(service_urls: list[str]) -> int:
    total = 0
    async with httpx.AsyncClient(timeout=3.0) as http:
        for url in service_urls:
            for line in (await http.get(f"{url}/metrics")).text.splitlines():
                if line.startswith("arf_outbox_pending_rows "):
                    total += int(float(line.split()[1]))
    return total


async def subscriptions(service_urls: list[str]) -> set[tuple[str, str]]:
    """(consumer group, topic) pairs, read from each service's AsyncAPI receive operations."""
    pairs = set()
    async with httpx.AsyncClient(timeout=3.0) as http:
        for url in service_urls:
            spec = (await http.get(f"{url}/asyncapi.json")).json()
            for name, operation in (spec.get("operations") or {}).items():
                if operation.get("action") == "receive" and ":" in name:
                    group, topics = name.split(":", 1)  # the runtime titles subscribers "<group>:<t1>,<t2>"
                    pairs.update((group, topic) for topic in topics.split(","))
    return pairs


async def consumer_lag(bootstrap_servers: str, pairs: set[tuple[str, str]]) -> int:
    lag = 0
    for group in sorted({group for group, _ in pairs}):
        probe = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False)
        await probe.start()
        try:
            for topic in sorted(topic for g, topic in pairs if g == group):
                partitions = [TopicPartition(topic, p) for p in (probe.partitions_for_topic(topic) or set())]
                if not partitions:
                    await probe._client.force_metadata_update()
                    partitions = [TopicPartition(topic, p) for p in (probe.partitions_for_topic(topic) or set())]
                ends = await probe.end_offsets(partitions)
                for partition in partitions:
                    committed = await probe.committed(partition) or 0
                    lag += max(ends[partition] - committed, 0)
        finally:
            await probe.stop()
    return lag


async def wait_until_drained(service_urls: list[str], bootstrap_servers: str, *, timeout_s: float) -> str:
    """Poll outboxes and consumer lag until both are zero; returns a line saying how it ended."""
    deadline = time.monotonic() + timeout_s
    pending = lag = -1
    while time.monotonic() < deadline:
        try:
            pending = await outbox_pending(service_urls)
            lag = await consumer_lag(bootstrap_servers, await subscriptions(service_urls))
            if pending == 0 and lag == 0:
                return "every event published and consumed"
        except Exception as exc:  # a service already gone: nothing more to wait for
            return f"drain check stopped: {exc}"
        await asyncio.sleep(0.5)
    return f"gave up waiting after {timeout_s:.0f} s ({pending} unpublished, {lag} unconsumed: re-published at next start)"
