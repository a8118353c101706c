"""Kafka plumbing: the FastStream broker factory, topic creation, and the raw record we consume."""

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.security import SASLPlaintext, SASLScram256, SASLScram512

from shared.platform.settings import KafkaSettings

log = logging.getLogger(__name__)

REPLAY_HEADER = "arf_replay_for"


def admin_connection_args(settings: KafkaSettings) -> dict[str, Any]:
    args: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_servers}
    if settings.kafka_security_protocol != "PLAINTEXT":
        args["security_protocol"] = settings.kafka_security_protocol
    if settings.kafka_sasl_mechanism:
        args["sasl_mechanism"] = settings.kafka_sasl_mechanism
        args["sasl_plain_username"] = settings.kafka_sasl_username
        args["sasl_plain_password"] = settings.kafka_sasl_password and settings.kafka_sasl_password.get_secret_value()
    return args


def _security(settings: KafkaSettings) -> Any:
    if not settings.kafka_sasl_mechanism:
        return None
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    use_ssl = settings.kafka_security_protocol == "SASL_SSL"
    kind = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
    return kind[settings.kafka_sasl_mechanism](settings.kafka_sasl_username or "", password, use_ssl=use_ssl)


def create_broker(settings: KafkaSettings, *, client_id: str, description: str) -> KafkaBroker:
    """A broker that acknowledges after the handler (at least once); nothing connects until start."""
    acks: Any = "all" if settings.kafka_acks == "all" else int(settings.kafka_acks)
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=client_id,
        # topics are created with their partition count by ensure_topics; a publish to a missing
        # topic must fail loudly rather than create it with the broker's defaults
        allow_auto_create_topics=False,
        acks=acks,
        enable_idempotence=settings.kafka_enable_idempotence,
        ack_policy=AckPolicy.ACK,
        security=_security(settings),
        description=description,
        logger=logging.getLogger(f"arf.kafka.{client_id}"),
        log_level=logging.DEBUG,  # FastStream's per-message access lines, hidden at INFO
        graceful_timeout=15.0,
    )


async def ensure_topics(settings: KafkaSettings, topics: Iterable[str]) -> list[str]:
    """Create the topics that do not exist yet; returns the ones this call created."""
    admin = AIOKafkaAdminClient(**admin_connection_args(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in topics if name not in existing]
        created = []
        for name in missing:
            try:
                await admin.create_topics(
                    [NewTopic(name, settings.kafka_partitions, settings.kafka_replication_factor)]
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass  # another replica won the race
        return created
    finally:
        await admin.close()


async def topic_exists(settings: KafkaSettings, topic: str) -> bool:
    admin = AIOKafkaAdminClient(**admin_connection_args(settings))
    await admin.start()
    try:
        return topic in set(await admin.list_topics())
    finally:
        await admin.close()


@dataclass(frozen=True)
class RawRecord:
    """One Kafka record as our consumer sees it, independent of FastStream."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_consumer_record(cls, record: Any) -> "RawRecord":
        headers = {name: value.decode("utf-8", "replace") for name, value in (record.headers or ())}
        return cls(record.topic, record.partition, record.offset, record.key, record.value or b"", headers)


class KafkaPublisher:
    """Publishes already-serialised records in order; used by the outbox relay and dead letters."""

    def __init__(self, broker: KafkaBroker) -> None:
        self.broker = broker

    async def publish_in_order(self, records: Sequence[tuple[str, bytes, bytes, dict[str, str]]]) -> None:
        """Send (topic, key, value, headers) records; same-key records keep their order."""
        futures = [
            await self.broker.publish(value, topic, key=key, headers=headers, no_confirm=True)
            for topic, key, value, headers in records
        ]
        await asyncio.gather(*futures)

    async def publish(self, topic: str, *, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        await self.broker.publish(value, topic, key=key, headers=headers)
