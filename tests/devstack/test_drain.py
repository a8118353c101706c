"""The drain's lag on the local broker: counted from the records actually read past each group's
committed offset, so a high watermark reported below the last offset cannot hide a backlog."""

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from devstack.drain import group_lags
from devstack.testing.infra import Infrastructure


async def test_the_lag_counts_the_records_past_the_committed_offset(infra: Infrastructure) -> None:
    topic, group = f"drain-{uuid.uuid4().hex[:8]}", f"drain-group-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    try:
        for n in range(7):
            await producer.send_and_wait(topic, value=f"{n}".encode(), partition=0)
    finally:
        await producer.stop()
    pairs = {(group, topic)}
    assert await group_lags(infra.kafka_bootstrap_servers, pairs) == {(group, topic): 7}

    committer = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap_servers, group_id=group,
                                 enable_auto_commit=False)
    await committer.start()
    try:
        committer.assign([TopicPartition(topic, 0)])
        await committer.commit({TopicPartition(topic, 0): OffsetAndMetadata(5, "")})
    finally:
        await committer.stop()
    assert await group_lags(infra.kafka_bootstrap_servers, pairs) == {(group, topic): 2}
