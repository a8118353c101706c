"""One-time moves of stored documents when a storage convention changes, run before the service starts.

`_id`s were `<tenant, %-escaped>:<key>` until the services shared one `doc_id` (`<tenant>|<key>`): a
database written before keeps every document, under its new `_id`, once.
"""

from typing import Any
from urllib.parse import unquote

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.platform.mongo import doc_id

MIGRATIONS = "migrations"
SHARED_DOC_ID = "shared-doc-id"
KEYED_COLLECTIONS = ("clients", "users", "statuses", "templates", "tenants", "actions", "history", "qualifications",
                     "email_requests", "attachments", "items", "links", "link_forms", "link_post_counters", "replies")
_BATCH = 500


async def migrate(db: AsyncDatabase[Any]) -> None:
    """Apply what this database has not had yet (idempotent: an interrupted run is finished next start)."""
    if await db[MIGRATIONS].find_one({"_id": SHARED_DOC_ID}) is None:
        for name in KEYED_COLLECTIONS:
            await _rekey(db, name)
        await db[MIGRATIONS].update_one({"_id": SHARED_DOC_ID}, {"$set": {"done": True}}, upsert=True)


def new_id(old: str) -> str:
    tenant, _, key = old.partition(":")
    return doc_id(unquote(tenant), key)


async def _rekey(db: AsyncDatabase[Any], name: str) -> None:
    collection = db[name]
    while True:
        old = await collection.find({"_id": {"$regex": "^[^|]*:"}}).limit(_BATCH).to_list()
        if not old:
            return
        try:  # a copy written by an interrupted run is already there: keep it, drop the old one
            await collection.insert_many([{**doc, "_id": new_id(doc["_id"])} for doc in old], ordered=False)
        except BulkWriteError as exc:
            if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
                raise
        await collection.delete_many({"_id": {"$in": [doc["_id"] for doc in old]}})
