"""The indexes of the dunning collections, created (and retired ones dropped) when MongoDB answers."""

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

# Indexes earlier versions created on `items` that no query needs any more (dropped on start).
RETIRED_ITEM_INDEXES = ("tenant_id_1_scenario_code_1_due_date_1", "_id_1_version_1_next_step_1_scenario_code_1",
                        "tenant_id_1_status_code_1")


async def ensure_indexes(db: AsyncDatabase[Any]) -> None:
    """Idempotent: a restart changes nothing."""
    await db["scenarios"].create_index([("tenant_id", ASCENDING), ("code", ASCENDING)])
    await db["clients"].create_index([("tenant_id", ASCENDING), ("scenario_code", ASCENDING)])
    await db["clients"].create_index([("tenant_id", ASCENDING), ("collector.user_id", ASCENDING)])
    items = db["items"]
    existing = await items.index_information()
    for name in RETIRED_ITEM_INDEXES:
        if name in existing:
            await items.drop_index(name)
    # Every index of `items` is paid on each item write (the scheduler moves thousands per pass):
    # keep only the ones queries need. The due query {tenant_id, scenario_code, next_step,
    # due_date <= day} also serves the dry run's window (one query per step).
    await items.create_index([("tenant_id", ASCENDING), ("scenario_code", ASCENDING),
                              ("next_step", ASCENDING), ("due_date", ASCENDING)])
    await items.create_index([("tenant_id", ASCENDING), ("client_id", ASCENDING)])
    # Only items carrying a status are ever looked up by status: the others cost this index nothing.
    await items.create_index([("tenant_id", ASCENDING), ("status_code", ASCENDING)], name="items_with_status",
                             partialFilterExpression={"status_code": {"$gt": ""}})
    await db["actions"].create_index([("run_state", ASCENDING), ("run_on", ASCENDING)])
    await db["actions"].create_index([("tenant_id", ASCENDING), ("run_on", ASCENDING)])
    records = db["step_records"]
    await records.create_index([("tenant_id", ASCENDING), ("client_id", ASCENDING), ("recorded_at", DESCENDING)])
    await records.create_index([("tenant_id", ASCENDING), ("agenda_on", ASCENDING)])
    await records.create_index([("tenant_id", ASCENDING), ("group_base", ASCENDING)])
    await db["history"].create_index([("tenant_id", ASCENDING), ("client_id", ASCENDING), ("at", DESCENDING)])
