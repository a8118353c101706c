"""Step records (`step_records`: the proof of every step, the agenda's waiting entries) and the clients'
history (`history`: pauses, resumptions, exclusions, actions run)."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from pymongo import DESCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.dunning.adapters.documents import DUPLICATE_KEY, IN_CHUNK, Session
from services.dunning.domain.decisions import StepRecord
from services.dunning.domain.history import HistoryEntry
from shared.sequences import chunks
from shared.ports import Duplicate


class MongoRecords:
    """Step records and history, in the transaction of `session` (or none)."""

    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.records, self.history, self.session = db["step_records"], db["history"], session

    async def insert_records(self, records: Sequence[StepRecord]) -> None:
        if records:
            docs = [{"_id": record.record_id, **record.model_dump(mode="python")} for record in records]
            try:
                await self.records.insert_many(docs, ordered=True, session=self.session)
            except BulkWriteError as exc:  # what insert_many raises, whatever the error
                errors = exc.details.get("writeErrors", [])
                if errors and all(error.get("code") == DUPLICATE_KEY for error in errors):
                    raise Duplicate(errors[0].get("errmsg", "duplicate step record")) from exc
                raise

    async def group_keys_used(self, tenant_id: str, bases: Sequence[str]) -> dict[str, set[str]]:
        """For each (client, step, day) base key, the group keys already recorded that day."""
        docs = []
        for chunk in chunks(sorted(set(bases)), IN_CHUNK):
            docs += await self.records.find({"tenant_id": tenant_id, "group_base": {"$in": chunk}},
                                            {"group_key": 1, "group_base": 1}, session=self.session).to_list()
        used: dict[str, set[str]] = {}
        for doc in docs:
            used.setdefault(doc["group_base"], set()).add(doc["group_key"])
        return used

    async def record(self, tenant_id: str, record_id: str) -> StepRecord | None:
        doc = await self.records.find_one({"_id": record_id, "tenant_id": tenant_id}, session=self.session)
        return StepRecord.model_validate(doc) if doc else None

    async def replace_record(self, record: StepRecord) -> None:
        await self.records.replace_one({"_id": record.record_id, "tenant_id": record.tenant_id},
                                       {"_id": record.record_id, **record.model_dump(mode="python")},
                                       session=self.session)

    async def records_of_client(self, tenant_id: str, client_id: str, *, limit: int) -> list[StepRecord]:
        docs = await self.records.find({"tenant_id": tenant_id, "client_id": client_id},
                                       sort=[("recorded_at", DESCENDING)], limit=limit, session=self.session).to_list()
        return [StepRecord.model_validate(doc) for doc in docs]

    async def agenda_records(self, tenant_id: str, first: date, last: date) -> list[StepRecord]:
        docs = await self.records.find({"tenant_id": tenant_id, "agenda_on": {"$gte": first, "$lte": last}},
                                       session=self.session).to_list()
        return [StepRecord.model_validate(doc) for doc in docs]

    async def records_between(self, tenant_id: str, first: date, last: date, *, outcome: str) -> list[StepRecord]:
        docs = await self.records.find({"tenant_id": tenant_id, "due_on": {"$gte": first, "$lte": last},
                                        "outcome": outcome}, session=self.session).to_list()
        return [StepRecord.model_validate(doc) for doc in docs]

    async def add_history(self, entries: Sequence[HistoryEntry]) -> None:
        """Entries carry a deterministic `_id`: a replayed event writes the same entry once."""
        if entries:
            await self.history.bulk_write([UpdateOne({"_id": e.entry_id}, {"$setOnInsert": history_doc(e)},
                                                     upsert=True) for e in entries],
                                          ordered=False, session=self.session)

    async def history_of_client(self, tenant_id: str, client_id: str, *, limit: int) -> list[HistoryEntry]:
        docs = await self.history.find({"tenant_id": tenant_id, "client_id": client_id},
                                       sort=[("at", DESCENDING)], limit=limit, session=self.session).to_list()
        return [HistoryEntry(entry_id=doc["_id"], **{k: v for k, v in doc.items() if k != "_id"}) for doc in docs]


def history_doc(entry: HistoryEntry) -> dict[str, Any]:
    """The stored entry: `event_id` on an event's entries, `action_id` on an action's, never both empty."""
    doc = {"_id": entry.entry_id, **entry.model_dump(exclude={"entry_id", "event_id", "action_id"})}
    doc.update({name: value for name in ("event_id", "action_id") if (value := getattr(entry, name)) is not None})
    return doc
