"""Items (`items`) and their position in their scenario: the collection the scheduler writes most.

Queries the scheduler runs on every pass have a compound index whose prefix is exactly their equality
fields followed by one range (see `indexes.py`).
"""

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from pymongo import ReplaceOne, UpdateMany, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from services.dunning.adapters.documents import IN_CHUNK, Session, doc_id, document, stored
from services.dunning.domain.scenarios import Scenario
from services.dunning.domain.state import ItemState
from services.dunning.ports import Move
from shared.platform.mongo import find_by_ids
from shared.sequences import chunks

# Where an item stands in its scenario: what the scheduler's compare-and-set compares.
POSITION = ("version", "next_step", "scenario_code")
REMAP_CHUNK = 2000


class MongoItems:
    """Items, in the transaction of `session` (or none)."""

    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.items, self.session = db["items"], session

    async def items_by_id(self, tenant_id: str, item_ids: Iterable[str]) -> dict[str, ItemState]:
        ids = [doc_id(tenant_id, iid) for iid in sorted(set(item_ids))]
        docs = await find_by_ids(self.items, ids, session=self.session, chunk=IN_CHUNK)
        return {doc["item_id"]: ItemState.model_validate(doc) for doc in docs}

    async def items_of_client(self, tenant_id: str, client_id: str) -> list[ItemState]:
        return await self._where(tenant_id, {"client_id": client_id})

    async def items_with_status(self, tenant_id: str, status_code: str) -> list[ItemState]:
        return await self._where(tenant_id, {"status_code": status_code})

    async def all_items(self, tenant_id: str) -> list[ItemState]:
        return await self._where(tenant_id, {})

    async def _where(self, tenant_id: str, query: dict[str, Any]) -> list[ItemState]:
        docs = await self.items.find({"tenant_id": tenant_id, **query}, session=self.session).to_list()
        return [ItemState.model_validate(doc) for doc in docs]

    async def due_items(self, tenant_id: str, scenario_code: str, step_code: str, due_on_or_before: date,
                        *, limit: int = 0) -> list[ItemState]:
        query = {"tenant_id": tenant_id, "scenario_code": scenario_code, "next_step": step_code,
                 "due_date": {"$lte": due_on_or_before}}
        docs = await self.items.find(query, limit=limit, session=self.session).to_list()
        return [ItemState.model_validate(doc) for doc in docs]

    async def items_due_between(self, tenant_id: str, scenario: Scenario, first: date, last: date) -> list[ItemState]:
        """One due-index query per position (each step, or none)."""
        found: list[ItemState] = []
        for next_step in [step.code for step in scenario.steps] + [None]:
            query = {"tenant_id": tenant_id, "scenario_code": scenario.code, "next_step": next_step,
                     "due_date": {"$gte": first, "$lte": last}}
            found += [ItemState.model_validate(doc) for doc in
                      await self.items.find(query, session=self.session).to_list()]
        return found

    async def save_items(self, tenant_id: str, items: Sequence[ItemState]) -> None:
        if items:
            await self.items.bulk_write([ReplaceOne({"_id": doc_id(tenant_id, item.item_id)},
                                                    document(tenant_id, item.item_id, item), upsert=True)
                                         for item in items], ordered=False, session=self.session)

    async def set_positions(self, tenant_id: str, items: Sequence[ItemState]) -> None:
        """Items going to the same position share one update_many (chunked `$in`)."""
        updates = {item.item_id: {"next_step": item.next_step, "scenario_code": item.scenario_code} for item in items}
        operations = [UpdateMany({"_id": {"$in": chunk}}, {"$set": fields})
                      for fields, ids in _grouped(tenant_id, updates) for chunk in chunks(ids, IN_CHUNK)]
        if operations:
            await self.items.bulk_write(operations, ordered=False, session=self.session)

    async def move_items(self, tenant_id: str, moves: Sequence[Move]) -> bool:
        """Compare-and-set inside the caller's transaction: the positions are read in it and compared here,
        then written by `_id` alone, items moved the same way in one update_many per chunk (a change
        committed by someone else after that read makes the write conflict, and the transaction is retried).
        Not as one filter of `_id` plus the expected fields: SecantusDB's Rust server uses the `_id` index
        only for a filter on `_id` alone and scanned every item for each chunk (0.16 s a chunk over 100 000)."""
        if not moves:
            return True
        ids = [doc_id(tenant_id, item.item_id) for item, _ in moves]
        now = {doc["_id"]: doc for doc in await find_by_ids(
            self.items, ids, projection=dict.fromkeys(POSITION, 1), session=self.session, chunk=IN_CHUNK)}
        for key, (item, _) in zip(ids, moves, strict=True):
            if any(now.get(key, {}).get(name) != getattr(item, name) for name in POSITION):
                return False
        updates = {item.item_id: fields for item, fields in moves}
        # The update is written as a one-stage pipeline of literals (same effect as `$set`): SecantusDB's
        # Python server then skips the per-document operator diff, the largest single cost of a move there.
        operations = [UpdateMany({"_id": {"$in": chunk}},
                                 [{"$set": {name: {"$literal": value} for name, value in values.items()}}])
                      for values, keys in _grouped(tenant_id, updates) for chunk in chunks(keys, IN_CHUNK)]
        await self.items.bulk_write(operations, ordered=False, session=self.session)
        return True

    async def remap(self, tenant_id: str, moves: Sequence[tuple[ItemState, str, str | None]]) -> int:
        """Each update is conditional on the item being unchanged since it was read (outside a transaction)."""
        operations = [UpdateOne(
            {"_id": doc_id(tenant_id, item.item_id), "version": item.version, "next_step": item.next_step,
             "scenario_code": item.scenario_code},
            {"$set": {"scenario_code": scenario_code, "next_step": next_step}},
        ) for item, scenario_code, next_step in moves]
        for start in range(0, len(operations), REMAP_CHUNK):
            await self.items.bulk_write(operations[start:start + REMAP_CHUNK], ordered=False, session=self.session)
        return len(operations)


def _grouped(tenant_id: str, updates: dict[str, dict[str, Any]]) -> list[tuple[dict[str, Any], list[str]]]:
    """The updates as (fields, item ids) with the same fields once: one update_many each."""
    grouped: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for item_id, fields in updates.items():
        values = stored(fields)
        grouped.setdefault(repr(sorted(values.items())), (values, []))[1].append(doc_id(tenant_id, item_id))
    return list(grouped.values())
