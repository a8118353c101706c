"""How the scheduler moves items: compare-and-set on the state each item was read in (compared inside the
transaction, written by `_id`), a chunk of items per statement; and the `items` collection keeps only the
indexes its queries need (every index is paid again on each of the thousands of item writes of a pass)."""

import uuid
from datetime import date
from typing import Any

import pytest

from services.dunning.adapters.documents import IN_CHUNK, doc_id
from services.dunning.adapters.indexes import ensure_indexes
from services.dunning.domain.state import ItemState
from services.dunning.ports import DunningUnitOfWork, Tx
from shared.contracts.receivables import ItemsUpserted
from shared.ports import Duplicate, Flow
from tests.dunning.builders import DUE, client_event, snapshot
from tests.dunning.harness import Dunning

MOVED = {"done_step": "courtesy", "done_offset": -5, "done_on": date(2026, 2, 24), "next_step": "first-reminder",
         "resumed": None}


class NotAsRead(Exception):
    pass


def unit_of_work(dunning: Dunning) -> DunningUnitOfWork:
    return dunning.app.state.dunning.uow  # type: ignore[no-any-return]


async def move(dunning: Dunning, read: dict[str, ItemState], item_ids: list[str]) -> None:
    """Move the items as read, all in one transaction; NotAsRead (and nothing written) if any changed."""

    async def work(tx: Tx) -> None:
        if not await tx.items.move_items(dunning.tenant, [(read[i], MOVED) for i in item_ids]):
            raise NotAsRead()

    await unit_of_work(dunning).run(work, flow=Flow(dunning.tenant))


class TestCompareAndSet:
    async def test_a_move_of_many_items_is_written_only_if_every_item_is_still_as_it_was_read(
        self, dunning: Dunning
    ) -> None:
        # More items than one statement takes, read in two different versions: several chunks per state.
        ids = [f"i{n:03d}" for n in range(2 * IN_CHUNK + 20)]
        await dunning.send(client_event("c1"), ItemsUpserted(client_id="c1", items=[
            snapshot(item_id, version=1 + n % 2) for n, item_id in enumerate(ids)]))
        await dunning.settle()
        items = unit_of_work(dunning).reading().items
        read = await items.items_by_id(dunning.tenant, ids)
        changed = ids[IN_CHUNK + 3]  # in the middle of the second chunk
        await dunning.db.items.update_one({"_id": doc_id(dunning.tenant, changed)},
                                          {"$set": {"version": read[changed].version + 1}})
        with pytest.raises(NotAsRead):
            await move(dunning, read, ids)
        positions = {doc["item_id"]: doc["next_step"] for doc in await dunning.db.items.find(
            {"tenant_id": dunning.tenant}).to_list()}
        assert set(positions.values()) == {"courtesy"}  # the transaction wrote nothing

        await move(dunning, await items.items_by_id(dunning.tenant, ids), ids)  # read again: as stored now
        stored = await dunning.db.items.find({"tenant_id": dunning.tenant}).to_list()
        assert len(stored) == len(ids)
        assert all((d["next_step"], d["done_step"], d["done_offset"], d["done_on"]) ==
                   ("first-reminder", "courtesy", -5, "2026-02-24") for d in stored)
        assert {d["item_id"]: d["version"] for d in stored}[changed] == read[changed].version + 1

    async def test_an_item_changed_by_someone_else_after_the_move_read_it_retries_and_moves_nothing(
        self, dunning: Dunning
    ) -> None:
        """The compare reads in the transaction and the write goes by `_id`: a change committed in between
        makes the write conflict, and the retried transaction then sees the change."""
        ids = [f"j{n:02d}" for n in range(IN_CHUNK + 5)]
        await dunning.send(client_event("c1"), ItemsUpserted(client_id="c1", items=[
            snapshot(item_id, version=1) for item_id in ids]))
        await dunning.settle()
        uow = unit_of_work(dunning)
        read = await uow.reading().items.items_by_id(dunning.tenant, ids)
        changed, attempts = ids[IN_CHUNK + 1], 0

        async def work(tx: Tx) -> None:
            nonlocal attempts
            attempts += 1
            await tx.items.items_by_id(dunning.tenant, ids[:1])  # the transaction's snapshot begins
            if attempts == 1:  # someone else commits a change to one of the items right then
                await dunning.db.items.update_one({"_id": doc_id(dunning.tenant, changed)}, {"$set": {"version": 2}})
            if not await tx.items.move_items(dunning.tenant, [(read[i], MOVED) for i in ids]):
                raise NotAsRead()

        with pytest.raises(NotAsRead):
            await uow.run(work, flow=Flow(dunning.tenant))
        assert attempts == 2
        stored = await dunning.db.items.find({"tenant_id": dunning.tenant, "item_id": {"$in": ids}}).to_list()
        assert {d["next_step"] for d in stored} == {"courtesy"}
        assert {d["item_id"]: d["version"] for d in stored}[changed] == 2


class TestStepRecords:
    async def test_a_record_already_there_is_reported_as_a_duplicate_so_the_batch_is_dropped(
        self, dunning: Dunning
    ) -> None:
        """What a second runner meets when another recorded the same group first (the scheduler counts it
        a conflict and sends nothing): insert_many's bulk error surfaces as the port's `Duplicate`."""
        await dunning.send(client_event("c1"), ItemsUpserted(client_id="c1", items=[snapshot("a", version=1)]))
        await dunning.settle()
        await dunning.run(DUE)
        records = unit_of_work(dunning).reading().records
        [record] = await records.records_of_client(dunning.tenant, "c1", limit=10)
        with pytest.raises(Duplicate):
            await records.insert_records([record])
        assert len(await dunning.records()) == 1


class TestIndexes:
    async def test_items_keep_only_the_indexes_queries_need_and_retired_ones_are_dropped(
        self, dunning: Dunning
    ) -> None:
        db = dunning.db.client[f"dunning_indexes_{uuid.uuid4().hex[:8]}"]
        try:
            # What an earlier version created: a window index, a compare-and-set index, a full status index.
            await db.items.create_index([("tenant_id", 1), ("scenario_code", 1), ("due_date", 1)])
            await db.items.create_index([("_id", 1), ("version", 1), ("next_step", 1), ("scenario_code", 1)])
            await db.items.create_index([("tenant_id", 1), ("status_code", 1)])
            await ensure_indexes(db)
            await ensure_indexes(db)  # a restart changes nothing
            indexes: dict[str, Any] = await db.items.index_information()
            assert {name: [field for field, _ in spec["key"]] for name, spec in indexes.items()} == {
                "_id_": ["_id"],
                "tenant_id_1_scenario_code_1_next_step_1_due_date_1": [
                    "tenant_id", "scenario_code", "next_step", "due_date"],
                "tenant_id_1_client_id_1": ["tenant_id", "client_id"],
                "items_with_status": ["tenant_id", "status_code"],
            }
            assert indexes["items_with_status"]["partialFilterExpression"] == {"status_code": {"$gt": ""}}
        finally:
            await dunning.db.client.drop_database(db.name)
