"""The platform's side of the check: consumer lag, unpublished outbox rows, dead letters."""

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from devstack.check.model import Difference, Target
from devstack.drain import group_lags, partitions_of, stop_quietly, subscriptions
from shared.contracts.topics import DLQ_SUFFIX, Stream, Topics

ALL_TENANTS = "*"  # platform differences are not one tenant's


async def wait_for_zero_lag(target: Target, say: Callable[[str], None]) -> list[Difference]:
    """Poll the consumers' lag (printed each time it changes) until it is zero; a difference if it never is."""
    pairs = await subscriptions(list(target.urls.values()), target.topic_prefix)
    deadline = time.monotonic() + target.lag_timeout_s
    shown: dict[tuple[str, str], int] | None = None
    while True:
        lags = await group_lags(target.kafka_bootstrap_servers, pairs)
        behind = {pair: lag for pair, lag in lags.items() if lag}
        if behind != shown:
            say(f"consumer lag: {sum(lags.values())} events" + "".join(
                f"\n  {group} on {topic}: {lag}" for (group, topic), lag in sorted(behind.items())))
            shown = behind
        if not behind:
            return []
        if time.monotonic() > deadline:
            return [Difference("consumers-lagging", ALL_TENANTS,
                               f"still {sum(behind.values())} events behind after {target.lag_timeout_s:.0f} s: "
                               "the services were not compared", tuple(f"{g}:{t}" for g, t in sorted(behind)))]
        await asyncio.sleep(0.5)


async def unpublished_outbox_rows(target: Target) -> list[Difference]:
    """Rows of each service's `outbox` that the relay has not published (a platform table: read directly)."""
    differences = []
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(target.mongodb_url)
    try:
        for service, database in sorted(target.databases.items()):
            rows = await client[database]["outbox"].find({"sent_at": None}, {"event_id": 1, "type": 1}).to_list()
            if rows:
                differences.append(Difference(
                    "outbox-unpublished", ALL_TENANTS, f"{len(rows)} outbox rows of {service} not published",
                    tuple(str(row.get("event_id") or row["_id"]) for row in rows)))
    finally:
        await client.close()
    return differences


async def unexpected_dead_letters(target: Target) -> list[Difference]:
    """Every record on a dead-letter topic of this stack whose event id is not in the expected list."""
    reader = AIOKafkaConsumer(bootstrap_servers=target.kafka_bootstrap_servers, enable_auto_commit=False,
                              group_id=None, client_id=f"check-{uuid.uuid4().hex[:6]}")
    await reader.start()
    try:
        ours = target.topic_prefix + "arf."
        listed = {t for t in await reader.topics() if t.endswith(DLQ_SUFFIX) and t.startswith(ours)}
        topics = sorted(listed | {Topics(target.topic_prefix).dead_letter(stream) for stream in Stream})
        # every partition first, then one assignment: once a reader is assigned, its metadata covers only that
        partitions = [tp for topic in topics for tp in await partitions_of(reader, topic)]
        found = await _read_dead_letters(reader, partitions)
    finally:
        await stop_quietly(reader)
    differences = []
    for topic, event_id, reason in found:
        if event_id not in target.expected_dead_letters:
            differences.append(Difference("dead-letter-unexpected", ALL_TENANTS, f"on {topic}: {reason}", (event_id,)))
    return differences


async def _read_dead_letters(reader: AIOKafkaConsumer, partitions: list[TopicPartition]) -> list[tuple[str, str, str]]:
    """(topic, event id, reason) of every record on `partitions`, from offset 0 to the last one readable."""
    if not partitions:
        return []
    reader.assign(partitions)
    for partition in partitions:  # from offset 0, not seek_to_beginning (which can hang on the local broker)
        reader.seek(partition, 0)
    records = []
    while batch := await reader.getmany(timeout_ms=1000, max_records=1000):
        for partition_records in batch.values():
            for record in partition_records:
                headers = {name: value.decode(errors="replace") for name, value in record.headers or ()}
                event_id = headers.get("dlq_event_id") or f"{record.topic}@{record.partition}/{record.offset}"
                records.append((record.topic, event_id, headers.get("dlq_error", "(no reason)")))
    return records
