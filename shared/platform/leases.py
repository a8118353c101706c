"""Leases in MongoDB: one holder at a time for a named job, taken over when the holder stops renewing."""

from datetime import timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.platform.clock import Clock, SystemClock


class Lease:
    """A named lease; `acquire` takes it, or renews it for its holder, and says whether we hold it."""

    def __init__(
        self,
        *,
        collection: AsyncCollection[Any],
        name: str,
        owner: str,
        ttl: timedelta,
        clock: Clock | None = None,
    ) -> None:
        self.collection = collection
        self.name = name
        self.owner = owner
        self.ttl = ttl
        self.clock = clock or SystemClock()

    async def acquire(self) -> bool:
        now = self.clock.now()
        try:
            await self.collection.find_one_and_update(
                {"_id": self.name, "$or": [{"owner": self.owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + self.ttl}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # someone else holds it and it has not expired
        return True

    async def release(self) -> None:
        await self.collection.delete_one({"_id": self.name, "owner": self.owner})
