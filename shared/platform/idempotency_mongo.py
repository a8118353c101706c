"""The MongoDB side of idempotent writes: keys and answers in the service's own database, and the
request transaction its units of work join (see `shared.platform.idempotency`)."""

import logging
from datetime import UTC, datetime
from typing import Any

from bson.binary import Binary
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.platform.idempotency import Answer, Begun, Record, RequestTransaction, _verdict
from shared.platform.mongo import doc_id, transaction_timeout_s

log = logging.getLogger(__name__)
COLLECTION = "idempotency_keys"
_COMMIT_ATTEMPTS = 3


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _document(record: Record) -> dict[str, Any]:
    answer = record.answer
    return {
        "_id": doc_id(record.tenant_id, record.key), "tenant_id": record.tenant_id, "key": record.key,
        "fingerprint": record.fingerprint, "state": record.state, "owner": record.owner,
        "lease_until": _when(record.lease_until), "expires_at": _when(record.expires_at),
        "answer": None if answer is None else {
            "status": answer.status, "body": Binary(answer.body),
            "headers": [[Binary(k), Binary(v)] for k, v in answer.headers]},
    }


def _record(doc: dict[str, Any]) -> Record:
    kept = doc.get("answer")
    answer = None if kept is None else Answer(
        kept["status"], [(bytes(k), bytes(v)) for k, v in kept["headers"]], bytes(kept["body"]))
    return Record(tenant_id=doc["tenant_id"], key=doc["key"], fingerprint=doc["fingerprint"], state=doc["state"],
                  owner=doc["owner"], lease_until=doc["lease_until"].timestamp(),
                  expires_at=doc["expires_at"].timestamp(), answer=answer)


class MongoIdempotencyStore:
    """`idempotency_keys` in the service's database: one document per tenant and key, reaped by a TTL
    index on `expires_at` (expired keys are also ignored when read: nothing depends on the reaping)."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._keys = db[COLLECTION]

    async def ensure_indexes(self) -> None:
        await self._keys.create_index("expires_at", expireAfterSeconds=0)

    async def begin(self, record: Record, *, now: float) -> tuple[Begun, Record | None]:
        document = _document(record)
        try:
            await self._keys.insert_one(document)
            return "proceed", None
        except DuplicateKeyError:
            pass
        found_doc = await self._keys.find_one({"_id": document["_id"]})
        if found_doc is None:  # released meanwhile: try once more
            return await self.begin(record, now=now)
        found = _record(found_doc)
        if found.expires_at <= now:  # expired, not reaped yet: a new request
            return await self._take_over(found_doc, document), None
        verdict, _ = _verdict(found, record, now, take_over=lambda: None)
        if verdict == "proceed":  # the holder's lease ran out: it crashed before committing
            return await self._take_over(found_doc, document), found
        return verdict, found

    async def _take_over(self, found_doc: dict[str, Any], document: dict[str, Any]) -> Begun:
        replaced = await self._keys.replace_one({"_id": found_doc["_id"], "owner": found_doc["owner"]}, document)
        return "proceed" if replaced.modified_count == 1 else "in_flight"

    async def complete(self, record: Record, transaction: Any) -> bool:
        session: AsyncClientSession | None = transaction
        document = _document(record)
        replaced = await self._keys.replace_one({"_id": document["_id"], "owner": record.owner}, document,
                                                session=session)
        return replaced.matched_count == 1

    async def release(self, record: Record) -> None:
        await self._keys.delete_one({"_id": doc_id(record.tenant_id, record.key), "owner": record.owner,
                                     "state": "in_flight"})


async def open_request_transaction(joined: RequestTransaction, client: AsyncMongoClient[Any],
                                   loop_time: float) -> AsyncClientSession:
    """The keyed request's transaction, started by its first unit of work on `client`, bounded like any
    other (`ARF_MONGODB_TRANSACTION_TIMEOUT_S`, with `maxCommitTimeMS`)."""
    bound = transaction_timeout_s(client)
    session = client.start_session()
    await session.start_transaction(max_commit_time_ms=max(1, int(bound * 1000)))

    async def commit() -> None:
        try:
            for attempt in range(1, _COMMIT_ATTEMPTS + 1):
                try:
                    await session.commit_transaction()
                    return
                except PyMongoError as exc:  # an unknown result may be asked again (commit is idempotent)
                    if attempt == _COMMIT_ATTEMPTS or not exc.has_error_label("UnknownTransactionCommitResult"):
                        raise
        finally:
            await session.end_session()

    async def abort() -> None:
        try:
            if session.in_transaction:
                await session.abort_transaction()
        except PyMongoError as exc:  # the server drops it anyway; nothing was committed
            log.debug("abort of a request transaction failed: %s", exc)
        finally:
            await session.end_session()

    joined.handle, joined.owner, joined.commit, joined.abort = session, client, commit, abort
    joined.deadline = loop_time + bound
    return session


def joinable(joined: RequestTransaction | None, client: AsyncMongoClient[Any]) -> bool:
    """Whether a unit of work on `client` joins the keyed request's transaction (same client, not failed)."""
    return joined is not None and joined.failed is None and joined.owner in (None, client)

