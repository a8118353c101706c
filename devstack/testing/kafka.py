"""Direct Kafka access for tests: produce raw records and read a topic from the beginning."""

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from devstack.testing.infra import Infrastructure


async def produce(infra: Infrastructure, topic: str, *, value: bytes, key: bytes | None = None,
                  headers: dict[str, str] | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    try:
        encoded = [(name, text.encode()) for name, text in (headers or {}).items()]
        await producer.send_and_wait(topic, value=value, key=key, headers=encoded)
    finally:
        await producer.stop()


async def read_topic(infra: Infrastructure, topic: str, *, expect: int, timeout_s: float = 30.0) -> list[ConsumerRecord]:
    """Read `topic` from the start until `expect` records arrived (or the timeout passed)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=infra.kafka_bootstrap_servers, group_id=f"test-reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest", enable_auto_commit=False, session_timeout_ms=3000, heartbeat_interval_ms=1000,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for partition_records in batch.values():
                records.extend(partition_records)
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return records


def headers_of(record: ConsumerRecord) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers or ()}
