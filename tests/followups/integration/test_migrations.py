"""The one-time re-keying of stored documents: `_id`s written as `<tenant %-escaped>:<key>` before the
services shared one `doc_id` are found under `doc_id(tenant, key)` after `migrate`, which runs once."""

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from devstack.testing.infra import Infrastructure
from shared.platform.mongo import TYPE_REGISTRY, doc_id
from services.followups.adapters.migrations import KEYED_COLLECTIONS, MIGRATIONS, SHARED_DOC_ID, migrate
from services.followups.adapters.records import ClientsRepository

TENANT = "acme:eu|1%"  # every character the old escaping and the new doc_id treat specially
KEYS = {"clients": "C1", "items": "INV:2026|7", "history": "entry-1", "link_post_counters": "l1:29000000"}


def old_id(tenant: str, key: str) -> str:
    return f"{quote(tenant, safe='')}:{key}"


@pytest.fixture
async def db(infra: Infrastructure) -> AsyncIterator[AsyncDatabase[Any]]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(infra.mongodb_url, tz_aware=True, type_registry=TYPE_REGISTRY)
    database = client[f"migrations_{uuid.uuid4().hex[:10]}"]
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()


async def everything(db: AsyncDatabase[Any]) -> dict[str, list[dict[str, Any]]]:
    return {name: await db[name].find().sort("_id", 1).to_list() for name in (*KEYED_COLLECTIONS, MIGRATIONS)}


async def test_old_ids_are_found_under_doc_id_after_one_migration_and_a_second_run_changes_nothing(
        db: AsyncDatabase[Any]) -> None:
    assert set(KEYS) <= set(KEYED_COLLECTIONS)
    for name, key in KEYS.items():
        await db[name].insert_one({"_id": old_id(TENANT, key), "tenant_id": TENANT, "key": key, "n": 1})
    await db["clients"].insert_one({"_id": doc_id(TENANT, "C2"), "tenant_id": TENANT, "key": "C2", "n": 2})

    await migrate(db)

    for name, key in KEYS.items():
        moved = await db[name].find({"tenant_id": TENANT, "key": key}).to_list()
        assert [doc["_id"] for doc in moved] == [doc_id(TENANT, key)], name
        assert {k: v for k, v in moved[0].items() if k != "_id"} == {"tenant_id": TENANT, "key": key, "n": 1}
    assert await db["clients"].find_one({"_id": doc_id(TENANT, "C2")}) is not None  # already new: untouched
    assert await db[MIGRATIONS].find_one({"_id": SHARED_DOC_ID}) is not None

    before = await everything(db)
    late = {"_id": old_id(TENANT, "C3"), "tenant_id": TENANT, "key": "C3", "n": 3}
    await db["clients"].insert_one(late)
    await migrate(db)  # done once: a document written later under an old id is not moved again
    after = await everything(db)
    assert after == before | {"clients": sorted([*before["clients"], late], key=lambda doc: doc["_id"])}


async def test_a_run_interrupted_after_copying_keeps_the_copy_and_drops_the_old_document(
        db: AsyncDatabase[Any]) -> None:
    await db["clients"].insert_one({"_id": old_id(TENANT, "C1"), "tenant_id": TENANT, "key": "C1", "n": 1})
    await db["clients"].insert_one({"_id": doc_id(TENANT, "C1"), "tenant_id": TENANT, "key": "C1", "n": 1})
    await migrate(db)
    assert [doc["_id"] for doc in await db["clients"].find().to_list()] == [doc_id(TENANT, "C1")]


async def test_the_repositories_find_a_migrated_document(db: AsyncDatabase[Any]) -> None:
    client = {"client_id": "C1", "number": "C1", "name": "Client C1", "language": "fr", "currency": "EUR",
              "version": 1, "changed_at": "2026-11-23T09:30:00+00:00"}
    await db["clients"].insert_one({"_id": old_id(TENANT, "C1"), "tenant_id": TENANT, **client})
    assert await ClientsRepository(db).get(TENANT, "C1") is None
    await migrate(db)
    found = await ClientsRepository(db).get(TENANT, "C1")
    assert found is not None and found.name == "Client C1"
