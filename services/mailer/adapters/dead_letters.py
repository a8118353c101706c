"""A request whose retries ran out goes to the email-requests dead-letter topic, as a binary-mode CloudEvent.

The record carries the platform's `dlq_*` headers, and a row in `dead_letters` lets an operator
list it. Replaying it changes nothing by itself (the ledger knows the idempotency key): to send it
again, the owner uses `POST /sends/{send_id}/resend`.
"""

import logging
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.mailer.domain.sends import Send
from shared.contracts.envelope import Envelope
from shared.contracts.topics import Stream, Topics
from shared.platform.dead_letters import COLLECTION
from shared.platform.kafka import KafkaPublisher

log = logging.getLogger(__name__)

CONSUMER = "mailer-sender"


class KafkaRequestDeadLetters:
    """Publishes a request to its dead-letter topic and lists it in `dead_letters`."""

    def __init__(self, *, publisher: KafkaPublisher, topics: Topics, db: AsyncDatabase[Any]) -> None:
        self.publisher = publisher
        self.topic = topics(Stream.EMAIL_REQUESTS)
        self.collection = db[COLLECTION]

    async def send(self, send: Send, *, reason: str, at: datetime) -> None:
        """Publish the request to `<topic>.dlq`; raises when the broker cannot take it (try again later)."""
        envelope = Envelope.model_validate_json(send.envelope_json)
        headers = {
            **envelope.kafka_headers(),
            "dlq_error": reason[:2000],
            "dlq_attempts": str(send.attempts),
            "dlq_consumer": CONSUMER,
            "dlq_original_topic": self.topic,
            "dlq_event_id": envelope.id,
            "dlq_send_id": send.send_id,
            "dlq_at": at.isoformat(),
        }
        await self.publisher.publish(self.topic + ".dlq", key=envelope.partitionkey.encode(),
                                     value=envelope.kafka_value(), headers=headers)
        try:
            await self.collection.update_one(
                {"_id": f"{CONSUMER}:{send.send_id}"},
                {"$set": {"consumer": CONSUMER, "topic": self.topic, "event_id": envelope.id, "type": envelope.type,
                          "tenant_id": send.tenant_id, "send_id": send.send_id, "error": reason[:2000],
                          "attempts": send.attempts, "at": at}},
                upsert=True,
            )
        except Exception as exc:  # the Kafka copy is the one that counts
            log.warning("dead letter of send %s not recorded in MongoDB: %s", send.send_id, exc)
        log.error("send %s dead-lettered after %d attempts: %s", send.send_id, send.attempts, reason)
