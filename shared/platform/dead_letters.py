"""Dead letters: a message that cannot be handled goes to `<topic>.dlq` with its error, and is recorded.

The Kafka copy keeps the original bytes and headers plus `dlq_*` headers (error, attempts, consumer,
original topic/partition/offset, event id); the MongoDB copy lets an operator list and count them.
`python -m shared.platform.dlq replay` sends them back to their topic for one consumer group.
"""

import asyncio
import logging
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.topics import DLQ_SUFFIX
from shared.platform.errors import RedeliveryNeeded
from shared.platform.kafka import KafkaPublisher, RawRecord

log = logging.getLogger(__name__)

COLLECTION = "dead_letters"


class DeadLetterUnavailable(RedeliveryNeeded):
    """The dead-letter topic could not be written: the message must be read again, not acknowledged."""


class DeadLetters:
    def __init__(self, *, publisher: KafkaPublisher, db: AsyncDatabase[Any], consumer: str) -> None:
        self.publisher = publisher
        self.collection = db[COLLECTION]
        self.consumer = consumer

    async def send(
        self, record: RawRecord, *, error: BaseException, attempts: int, event_id: str | None, at: datetime
    ) -> None:
        reason = f"{type(error).__name__}: {error}"[:2000]
        headers = {
            **record.headers,
            "dlq_error": reason,
            "dlq_attempts": str(attempts),
            "dlq_consumer": self.consumer,
            "dlq_original_topic": record.topic,
            "dlq_original_partition": str(record.partition),
            "dlq_original_offset": str(record.offset),
            "dlq_event_id": event_id or "",
            "dlq_at": at.isoformat(),
        }
        for attempt in range(3):
            try:
                await self.publisher.publish(
                    record.topic + DLQ_SUFFIX, key=record.key, value=record.value, headers=headers
                )
                break
            except Exception as exc:
                if attempt == 2:
                    raise DeadLetterUnavailable(f"cannot write {record.topic}{DLQ_SUFFIX}: {exc}") from exc
                await asyncio.sleep(0.5 * (attempt + 1))
        await self._record(record, reason=reason, attempts=attempts, event_id=event_id, at=at)
        log.error("dead-lettered %s@%s/%s after %d attempts: %s", record.topic, record.partition, record.offset,
                  attempts, reason)

    async def _record(self, record: RawRecord, *, reason: str, attempts: int, event_id: str | None, at: datetime) -> None:
        try:
            await self.collection.update_one(
                {"_id": f"{self.consumer}:{record.topic}:{record.partition}:{record.offset}"},
                {"$set": {
                    "consumer": self.consumer,
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                    "event_id": event_id,
                    "type": record.headers.get("ce_type"),
                    "error": reason,
                    "attempts": attempts,
                    "at": at,
                }},
                upsert=True,
            )
        except Exception as exc:  # the Kafka copy is the one that counts; this is a convenience index
            log.warning("dead letter not recorded in MongoDB: %s", exc)
