"""The send ledger in MongoDB: one row per email request, unique on (tenant, idempotency key).

Claims are batch writes (SecantusDB does ~700 single writes/s but ~2 300 in bulk): find due rows,
flip them to `sending` with this worker's claim token in one write (a row is updated only if it
still matches, so two replicas never claim the same row), then read back what we won.

Rows that a sender may be finishing in a transaction at that very moment (renewing our claims,
taking over expired ones) are written with one single-document update each, never `update_many`:
SecantusDB retries a conflicting multi-update while holding its collection lock, which deadlocks
with a transaction that needs that lock for its next statement.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import uuid4

from pymongo import ASCENDING, DESCENDING, UpdateMany, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.mailer.domain.sends import (
    RESENDABLE_STATES,
    Failure,
    Finish,
    HistoryEntry,
    Send,
    SendQuery,
    SendState,
    history_entry,
)

COLLECTION = "sends"
HISTORY_KEPT = 20
LIST_PROJECTION = {"envelope_json": 0}


def to_document(send: Send) -> dict[str, Any]:
    document = send.model_dump(mode="python", exclude={"send_id"})
    document["_id"] = send.send_id
    document["envelope_json"] = send.envelope_json
    document["claimed_by"] = None
    document["claim_expires_at"] = None
    return document


def from_document(document: dict[str, Any]) -> Send:
    return Send.model_validate({**document, "send_id": document["_id"]})


def _history(entry: HistoryEntry) -> dict[str, Any]:
    return {"$each": [entry.model_dump(mode="python")], "$slice": -HISTORY_KEPT}


def finish_update(finish: Finish, now: datetime) -> dict[str, Any]:
    """The update that ends one claim with its outcome."""
    release = {"claim_token": None, "claimed_by": None, "claim_expires_at": None}
    return {"$set": {"state": finish.state.value, "updated_at": now, **release, **finish.fields},
            "$inc": {"attempts": 1 if finish.counted else 0},
            "$push": {"history": _history(history_entry(now, finish.state, finish.note))}}


def finish_writes(finishes: Sequence[Finish], now: datetime) -> list[UpdateOne | UpdateMany]:
    """One statement per group of rows of one claim that change alike (SecantusDB writes a group in
    about half the time of row-by-row updates), one per row otherwise."""
    groups: dict[tuple[Any, ...], list[Finish]] = {}
    for finish in finishes:
        key = (finish.claim_token, finish.state, finish.note, finish.counted, repr(sorted(finish.fields.items())))
        groups.setdefault(key, []).append(finish)
    writes: list[UpdateOne | UpdateMany] = []
    for group in groups.values():
        first = group[0]
        if len(group) == 1:
            writes.append(UpdateOne({"_id": first.send_id, "claim_token": first.claim_token}, finish_update(first, now)))
        else:
            writes.append(UpdateMany({"_id": {"$in": [finish.send_id for finish in group]},
                                      "claim_token": first.claim_token}, finish_update(first, now)))
    return writes


class MongoSendLedger:
    """The ledger, bound to the session of a unit of work (None: outside any transaction)."""

    def __init__(self, db: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self.sends = db[COLLECTION]
        self.session = session

    async def ensure_indexes(self) -> None:
        """Few indexes on purpose: every state change rewrites each of them. The idempotency key
        needs none of its own: `_id` is derived from (tenant, key), so it is unique by construction."""
        await self.sends.create_index([("state", ASCENDING), ("next_attempt_at", ASCENDING)])
        await self.sends.create_index([("tenant_id", ASCENDING), ("request_id", ASCENDING)])
        await self.sends.create_index([("tenant_id", ASCENDING), ("action_id", ASCENDING), ("created_at", DESCENDING)])
        await self.sends.create_index([("tenant_id", ASCENDING), ("state", ASCENDING), ("created_at", DESCENDING)])

    async def add(self, send: Send) -> bool:
        """Record a new request; False when its idempotency key is already in the ledger."""
        try:
            await self.sends.insert_one(to_document(send), session=self.session)
        except DuplicateKeyError:
            return False
        return True

    # -- the sender's side: claims are written outside any transaction, one statement each --

    async def claim_due(self, *, owner: str, limit: int, now: datetime, until: datetime) -> list[Send]:
        """Claim up to `limit` pending rows whose attempt is due, oldest due first."""
        query = {"state": SendState.PENDING.value, "next_attempt_at": {"$lte": now}}
        return await self._claim(query, sort=("next_attempt_at", ASCENDING), owner=owner, limit=limit, now=now,
                                 until=until, one_by_one=False)

    async def claim_ids(self, send_ids: Sequence[str], *, owner: str, now: datetime, until: datetime) -> list[Send]:
        """Claim given rows (just recorded by this replica) if they are still pending and due."""
        query = {"_id": {"$in": list(send_ids)}, "state": SendState.PENDING.value, "next_attempt_at": {"$lte": now}}
        token = uuid4().hex
        await self.sends.update_many(query, {"$set": {"state": SendState.SENDING.value, "claim_token": token,
                                                      "claimed_by": owner, "claim_expires_at": until,
                                                      "updated_at": now}})
        won = {"_id": {"$in": list(send_ids)}, "claim_token": token}
        return [from_document(row) for row in await self.sends.find(won).to_list()]

    async def claim_abandoned(self, *, owner: str, limit: int, now: datetime, until: datetime) -> list[Send]:
        """Claim rows whose worker stopped renewing its claim (a crashed or partitioned replica)."""
        query = {"state": SendState.SENDING.value, "claim_expires_at": {"$lt": now}}
        return await self._claim(query, sort=("claim_expires_at", ASCENDING), owner=owner, limit=limit, now=now,
                                 until=until, one_by_one=True)

    async def claim_overdue(self, *, owner: str, limit: int, due_before: datetime, now: datetime,
                            until: datetime) -> list[Send]:
        """Claim pending rows due for longer than the retry budget (e.g. the relay was down for days)."""
        query = {"state": SendState.PENDING.value, "next_attempt_at": {"$lt": due_before}}
        return await self._claim(query, sort=("next_attempt_at", ASCENDING), owner=owner, limit=limit, now=now,
                                 until=until, one_by_one=False)

    async def _claim(self, query: dict[str, Any], *, sort: tuple[str, int], owner: str, limit: int,
                     now: datetime, until: datetime, one_by_one: bool) -> list[Send]:
        candidates = await self.sends.find(query, {"_id": 1}).sort([sort]).limit(limit).to_list()
        if not candidates:
            return []
        token = uuid4().hex
        claim = {"$set": {"state": SendState.SENDING.value, "claim_token": token, "claimed_by": owner,
                          "claim_expires_at": until, "updated_at": now}}
        if one_by_one:
            await self.sends.bulk_write([UpdateOne({**query, "_id": row["_id"]}, claim) for row in candidates],
                                        ordered=False)
        else:
            await self.sends.update_many({**query, "_id": {"$in": [row["_id"] for row in candidates]}}, claim)
        won = {"_id": {"$in": [row["_id"] for row in candidates]}, "claim_token": token}  # by _id: no scan
        return [from_document(row) for row in await self.sends.find(won).to_list()]

    async def renew(self, send_ids: Sequence[str], *, owner: str, until: datetime) -> None:
        """Extend our claims (one update per row: these rows may be in our own flush transaction)."""
        if send_ids:
            await self.sends.bulk_write([
                UpdateOne({"_id": send_id, "claimed_by": owner, "state": SendState.SENDING.value},
                          {"$set": {"claim_expires_at": until}})
                for send_id in send_ids
            ], ordered=False)

    async def finish(self, finishes: Sequence[Finish], *, now: datetime) -> None:
        """Write the outcomes of claimed rows (inside the unit of work's transaction)."""
        if finishes:
            await self.sends.bulk_write(finish_writes(finishes, now), ordered=False, session=self.session)

    # -- what people see and decide --

    async def find(self, tenant_id: str, query: SendQuery, *, limit: int) -> list[Send]:
        filters: dict[str, Any] = {"tenant_id": tenant_id}
        for name in ("request_id", "action_id", "client_id"):
            if value := getattr(query, name):
                filters[name] = value
        if query.state is not None:
            filters["state"] = query.state.value
        rows = await (self.sends.find(filters, LIST_PROJECTION, session=self.session).sort("created_at", DESCENDING)
                      .limit(limit).to_list())
        return [from_document(row) for row in rows]

    async def get(self, tenant_id: str, send_id: str) -> Send | None:
        row = await self.sends.find_one({"_id": send_id, "tenant_id": tenant_id}, LIST_PROJECTION, session=self.session)
        return from_document(row) if row else None

    # -- what comes back through the inbound listener --

    async def by_id(self, send_id: str) -> Send | None:
        """A send found from a bounce or unsubscribe address (the id says which tenant it belongs to)."""
        row = await self.sends.find_one({"_id": send_id}, LIST_PROJECTION, session=self.session)
        return from_document(row) if row else None

    async def bounced(self, send: Send, address: str, *, missed: dict[str, str], failure: Failure | None,
                      note: str, now: datetime) -> bool:
        """Record that `address` bounced (the send fails when `failure` is given); False when a
        notification about it was already recorded, so a repeated bounce reports nothing twice."""
        fields: dict[str, Any] = {"missed": missed, "updated_at": now}
        if failure is not None:
            fields.update(state=SendState.FAILED.value, failure=failure.model_dump(mode="python"))
        state = SendState.FAILED if failure is not None else send.state
        result = await self.sends.update_one(
            {"_id": send.send_id, "bounced": {"$ne": address}},
            {"$set": fields, "$push": {"bounced": address, "history": _history(history_entry(now, state, note))}},
            session=self.session,
        )
        return result.modified_count == 1

    async def note(self, send: Send, note: str, *, now: datetime) -> None:
        """A history line that changes nothing else (a delay notice, an unsubscribe, an auto-reply)."""
        await self.sends.update_one({"_id": send.send_id},
                                    {"$push": {"history": _history(history_entry(now, send.state, note))}},
                                    session=self.session)

    async def resend(self, tenant_id: str, send_id: str, *, by: str, now: datetime) -> bool:
        """A person decided to send an unknown or failed email again: back to pending, attempts reset."""
        entry = history_entry(now, SendState.PENDING, f"resend requested by {by}")
        result = await self.sends.update_one(
            {"_id": send_id, "tenant_id": tenant_id, "state": {"$in": [state.value for state in RESENDABLE_STATES]}},
            {"$set": {"state": SendState.PENDING.value, "attempts": 0, "next_attempt_at": now, "created_at": now,
                      "updated_at": now, "failure": None, "claim_token": None, "claimed_by": None,
                      "claim_expires_at": None},
             "$push": {"history": _history(entry)}},
            session=self.session,
        )
        return result.modified_count == 1
