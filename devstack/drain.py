"""Before the local broker stops (it forgets everything), wait until every outbox is published and
every consumer group has read everything on its topics."""

import asyncio
import contextlib
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


async def subscriptions(service_urls: list[str], topic_prefix: str = "") -> set[tuple[str, str]]:
    """(consumer group, topic) pairs, read from each service's AsyncAPI receive operations (the runtime puts
    the topic prefix in front of each group's name)."""
    pairs = set()
    async with httpx.AsyncClient(timeout=3.0) as http:
        for url in service_urls:
            spec = (await http.get(f"{url}/asyncapi.json")).json()
            for name, operation in (spec.get("operations") or {}).items():
                if operation.get("action") == "receive" and ":" in name:
                    # receive operations are named "<group>:<topic>" (shared/platform/asyncapi.py)
                    group, topics = name.split(":", 2)[:2]
                    pairs.update((topic_prefix + group, topic) for topic in topics.split(","))
    return pairs


# Reading past the committed offset stops here: enough to say "not drained", and bounded at Ctrl-C.
READ_AHEAD_LIMIT = 10_000


async def consumer_lag(bootstrap_servers: str, pairs: set[tuple[str, str]]) -> int:
    """Records on the topics that each group has not committed, summed (see `group_lag`)."""
    lags = await group_lags(bootstrap_servers, pairs)
    return sum(lags.values())


async def group_lags(bootstrap_servers: str, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The lag of each (group, topic): records actually readable past the group's committed offset.

    The local broker (Tansu) reports high watermarks below the last offset, so the lag is not
    `end - committed`: the records after the committed offset are read (up to READ_AHEAD_LIMIT a
    partition) and counted, and the reported end only raises that figure, never lowers it.
    """
    lags: dict[tuple[str, str], int] = {}
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False)
    await reader.start()
    try:
        for group in sorted({group for group, _ in pairs}):
            probe = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False)
            await probe.start()
            try:
                for topic in sorted(topic for g, topic in pairs if g == group):
                    partitions = await partitions_of(probe, topic)
                    committed = {tp: await probe.committed(tp) or 0 for tp in partitions}
                    ends = await probe.end_offsets(partitions) if partitions else {}
                    read = await _readable_after(reader, committed)
                    lags[(group, topic)] = sum(max(read[tp], ends[tp] - committed[tp], 0) for tp in partitions)
            finally:
                await probe.stop()
    finally:
        await stop_quietly(reader)
    return lags


async def stop_quietly(consumer: AIOKafkaConsumer, timeout_s: float = 5.0) -> None:
    """Stop a reader, bounded: aiokafka's fetcher can wait forever in close() against the local broker."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(consumer.stop(), timeout_s)


async def partitions_of(probe: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions, after a metadata refresh when the cached metadata does not know it."""
    found = probe.partitions_for_topic(topic)
    if not found:
        await probe._client.force_metadata_update()
        found = probe.partitions_for_topic(topic)
    return [TopicPartition(topic, p) for p in sorted(found or set())]


async def _readable_after(reader: AIOKafkaConsumer, committed: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    """How many records each partition holds from its committed offset on (the last record read + 1 - committed)."""
    last_read = {tp: offset - 1 for tp, offset in committed.items()}
    if not committed:
        return {}
    reader.assign(list(committed))
    for tp, offset in committed.items():
        reader.seek(tp, offset)
    while True:
        batch = await reader.getmany(timeout_ms=300, max_records=1000)
        if not batch:
            break
        for tp, records in batch.items():
            last_read[tp] = max(last_read[tp], records[-1].offset)
            if last_read[tp] + 1 - committed[tp] >= READ_AHEAD_LIMIT:
                reader.pause(tp)
        if all(last_read[tp] + 1 - committed[tp] >= READ_AHEAD_LIMIT for tp in committed):
            break
    reader.assign([])
    return {tp: last_read[tp] + 1 - offset for tp, offset in committed.items()}


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
    return (f"gave up waiting after {timeout_s:.0f} s ({pending} unpublished, {lag} unconsumed: "
            "re-published at next start)")
