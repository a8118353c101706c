"""Operator command: send dead letters back to their topic for one consumer group.

    python -m shared.platform.dlq replay --topic arf.items.dlq --group indicators [--dry-run]

Reads the dead-letter topic up to its current end, re-publishes each message of that group to its
original topic with the `arf_replay_for` header (other groups skip it; they already handled it),
and commits its position so a second run does not replay the same messages again.
"""

import argparse
import asyncio
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.platform.errors import ConfigError
from shared.platform.kafka import REPLAY_HEADER, admin_connection_args
from shared.platform.settings import KafkaSettings, load_settings


async def replay(settings: KafkaSettings, *, topic: str, group: str, dry_run: bool = False) -> tuple[int, int]:
    """Returns (messages replayed, messages read)."""
    connection = admin_connection_args(settings)
    consumer = AIOKafkaConsumer(bootstrap_servers=connection.pop("bootstrap_servers"), **connection,
                                group_id=f"{settings.kafka_topic_prefix}arf-dlq-replay-{group}",
                                enable_auto_commit=False, auto_offset_reset="earliest")
    producer = AIOKafkaProducer(**admin_connection_args(settings))
    await consumer.start()
    await producer.start()
    replayed = read = 0
    try:
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        if not partitions:
            await consumer._client.force_metadata_update()  # a topic seen for the first time
            partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for partition in partitions:
            while await consumer.position(partition) < ends[partition]:
                batch = await consumer.getmany(partition, timeout_ms=1000)
                for record in batch.get(partition, []):
                    read += 1
                    headers = {name: value.decode() for name, value in record.headers or ()}
                    if headers.get("dlq_consumer") != group:
                        continue
                    original = {k: v for k, v in headers.items() if not k.startswith("dlq_")}
                    original[REPLAY_HEADER] = group
                    if not dry_run:
                        await producer.send_and_wait(headers["dlq_original_topic"], value=record.value,
                                                     key=record.key,
                                                     headers=[(k, v.encode()) for k, v in original.items()])
                    replayed += 1
        if not dry_run:
            await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
    return replayed, read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.platform.dlq", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("replay", help="re-publish dead letters of one consumer group")
    command.add_argument("--topic", required=True, help="the dead-letter topic, e.g. arf.items.dlq")
    command.add_argument("--group", required=True, help="the consumer group whose dead letters to replay")
    command.add_argument("--dry-run", action="store_true", help="count, do not publish")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(KafkaSettings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    replayed, read = asyncio.run(replay(settings, topic=args.topic, group=args.group, dry_run=args.dry_run))
    verb = "would replay" if args.dry_run else "replayed"
    print(f"{verb} {replayed} of {read} dead letters from {args.topic} for {args.group}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
