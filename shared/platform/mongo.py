"""MongoDB access: one client factory, Decimal stored as Decimal128, dates as ISO strings, transactions."""

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from decimal import Decimal, localcontext
from typing import Any, TypeVar

from bson.codec_options import TypeDecoder, TypeEncoder, TypeRegistry
from bson.decimal128 import Decimal128, create_decimal128_context
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared.platform.settings import MongoSettings

T = TypeVar("T")
ID_CHUNK = 50
DEFAULT_TRANSACTION_TIMEOUT_S = 10.0
# The bound each client's transactions get (its settings' `mongodb_transaction_timeout_s`), kept beside the
# client rather than threaded through every unit of work and consumer that runs one.
_transaction_bounds: "weakref.WeakKeyDictionary[AsyncMongoClient[Any], float]" = weakref.WeakKeyDictionary()
_DECIMAL128_CONTEXT = create_decimal128_context()


class DecimalEncoder(TypeEncoder):
    """Money is Decimal in Python and Decimal128 in MongoDB, never a float."""

    python_type = Decimal

    def transform_python(self, value: Decimal) -> Decimal128:
        with localcontext(_DECIMAL128_CONTEXT) as context:
            return Decimal128(context.create_decimal(value))


class Decimal128Decoder(TypeDecoder):
    bson_type = Decimal128

    def transform_bson(self, value: Decimal128) -> Decimal:
        return value.to_decimal()


class DateEncoder(TypeEncoder):
    """A calendar date is stored as `YYYY-MM-DD`: sortable, and never confused with a timestamp."""

    python_type = date

    def transform_python(self, value: date) -> str:
        return value.isoformat()


TYPE_REGISTRY = TypeRegistry([DecimalEncoder(), Decimal128Decoder(), DateEncoder()])


def create_mongo_client(settings: MongoSettings, *, appname: str) -> AsyncMongoClient:
    """One client per event loop (PyMongo's rule); it connects lazily, nothing happens at import."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        settings.mongodb_url.get_secret_value(),
        appname=appname,
        tz_aware=True,
        type_registry=TYPE_REGISTRY,
        serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
        connectTimeoutMS=settings.mongodb_timeout_ms,
    )
    _transaction_bounds[client] = settings.mongodb_transaction_timeout_s
    return client


def database_name(settings: MongoSettings, service: str) -> str:
    return settings.mongodb_database or f"arf_{service}"


class TransactionTimeout(Exception):
    """A transaction (its retries included) outlived its bound: it was aborted, nothing of it was written."""


def transaction_timeout_s(client: AsyncMongoClient[Any]) -> float:
    """The bound on one transaction of `client`: its settings' value, or the default for a bare client."""
    return _transaction_bounds.get(client, DEFAULT_TRANSACTION_TIMEOUT_S)


async def run_in_transaction(
    client: AsyncMongoClient, work: Callable[[AsyncClientSession], Awaitable[T]], *, timeout_s: float | None = None,
) -> T:
    """Run `work` in one transaction, retried on transient errors (so `work` must only touch MongoDB).

    The whole of it, retries included, is bounded (`timeout_s`, else the client's
    `ARF_MONGODB_TRANSACTION_TIMEOUT_S`): past the deadline the transaction is aborted and
    `TransactionTimeout` raised, and the commit itself gets `maxCommitTimeMS`. A slow or stuck process
    so holds its documents' locks for seconds, never the database's own limit (a minute), and a client
    waiting on it gets a clear failure it may retry (with its idempotency key) instead of a late commit."""
    bound = transaction_timeout_s(client) if timeout_s is None else timeout_s
    async with client.start_session() as session:
        try:
            async with asyncio.timeout(bound) as deadline:
                # with_transaction aborts the open transaction when the deadline cancels `work`.
                return await session.with_transaction(work, max_commit_time_ms=max(1, int(bound * 1000)))
        except TimeoutError:
            if deadline.expired():
                raise TransactionTimeout(f"the transaction did not commit within {bound:g} s and was aborted") from None
            raise


async def find_by_ids(
    collection: AsyncCollection[Any], ids: Sequence[Any], *, projection: dict[str, int] | None = None,
    session: AsyncClientSession | None = None, chunk: int = ID_CHUNK,
) -> list[dict[str, Any]]:
    """Documents whose `_id` is in `ids`, asked in chunks: SecantusDB matches every fetched document against
    the whole `$in` list, so a query costs ~ ids x ids (measured: 1 000 ids in one query take 5x longer than
    5 queries of 200; 2 000 ids in chunks of 50 cost 0.25 s of server time against 0.4-0.65 s in chunks of 200)."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(ids), chunk):
        query = {"_id": {"$in": list(ids[start:start + chunk])}}
        found += await collection.find(query, projection, session=session).to_list()
    return found


def doc_id(*parts: str) -> str:
    """One `_id` from a tenant and keys (`acme|inv-1`), unambiguous whatever characters the parts hold: a
    point lookup by `_id` is the fastest path and tenant-scoped, and two tenants' keys never collide."""
    return "|".join(part.replace("%", "%25").replace("|", "%7C") for part in parts)


async def ping(db: AsyncDatabase[Any]) -> None:
    await db.command("ping")
