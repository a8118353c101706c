"""One-time moves of stored documents when a storage convention changes, run before the service starts.

`_id`s were `<tenant, %-escaped>:<key>` until the services shared one `doc_id` (`<tenant>|<key>`): a
database written before keeps every document, under its new `_id`, once.
"""

from typing import Any
from urllib.parse import quote, unquote

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


def new_id(doc: dict[str, Any]) -> str | None:
    """The document's `_id` under the shared `doc_id`, or None when it is not of the old form.

    The old form is recognised from the document's own `tenant_id`: a new `_id` of a tenant whose id holds
    a ':' (`a:b|key`) also has a ':' before any '|', and must be left alone."""
    old: str = doc["_id"]
    tenant = doc.get("tenant_id")
    if tenant is None:  # every document carries its tenant; should one not, read the tenant from the `_id`
        escaped, _, key = old.partition(":")
        return doc_id(unquote(escaped), key)
    prefix = f"{quote(tenant, safe='')}:"
    return doc_id(tenant, old[len(prefix):]) if old.startswith(prefix) else None


async def _rekey(db: AsyncDatabase[Any], name: str) -> None:
    collection = db[name]
    after = ""
    while True:  # in `_id` order, from the last one seen: documents left alone are not read again
        batch = await collection.find({"_id": {"$regex": "^[^|]*:", "$gt": after}}).sort("_id", 1) \
            .limit(_BATCH).to_list()
        if not batch:
            return
        after = batch[-1]["_id"]
        old = [(doc, moved) for doc in batch if (moved := new_id(doc)) is not None]
        if not old:
            continue
        try:  # a copy written by an interrupted run is already there: keep it, drop the old one
            await collection.insert_many([{**doc, "_id": moved} for doc, moved in old], ordered=False)
        except BulkWriteError as exc:
            if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
                raise
        await collection.delete_many({"_id": {"$in": [doc["_id"] for doc, _ in old]}})
