"""The idempotent-consumer record: which event ids a consumer has already handled.

The id is written in the same transaction as the state change it caused, so "handled" and
"recorded as handled" cannot diverge. Rows expire after a TTL (MongoDB reaps them in the background).
"""

from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.platform.mongo import find_by_ids

COLLECTION = "processed_events"


class ProcessedEvents:
    def __init__(self, db: AsyncDatabase[Any], *, ttl: timedelta) -> None:
        self.collection = db[COLLECTION]
        self.ttl = ttl

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("processed_at", expireAfterSeconds=int(self.ttl.total_seconds()))

    async def first_time(
        self, *, consumer: str, event_id: str, event_type: str, at: datetime, session: AsyncClientSession
    ) -> bool:
        """Record the event as handled by `consumer`; False when it already was (a redelivery)."""
        key = f"{consumer}:{event_id}"
        if await self.collection.find_one({"_id": key}, {"_id": 1}, session=session):
            return False
        await self.collection.insert_one(
            {"_id": key, "consumer": consumer, "event_id": event_id, "type": event_type, "processed_at": at},
            session=session,
        )
        return True

    async def first_times(
        self, *, consumer: str, events: list[tuple[str, str]], at: datetime, session: AsyncClientSession
    ) -> set[str]:
        """Record a batch of (event id, type) as handled; returns the ids seen for the first time
        (a redelivered id, or one repeated inside the batch, is left out)."""
        keys = {f"{consumer}:{event_id}": (event_id, event_type) for event_id, event_type in events}
        seen = {doc["_id"] for doc in await find_by_ids(self.collection, list(keys), projection={"_id": 1},
                                                        session=session)}
        fresh = {key: value for key, value in keys.items() if key not in seen}
        if fresh:
            await self.collection.insert_many(
                [{"_id": key, "consumer": consumer, "event_id": event_id, "type": event_type, "processed_at": at}
                 for key, (event_id, event_type) in fresh.items()],
                session=session,
            )
        return {event_id for event_id, _ in fresh.values()}
