"""The indicator store in MongoDB: per-item snapshots and counts, facts, aggregates and history.

Every write of one event (or one batch of events) happens in its transaction and costs a fixed
number of round trips: reads by `_id` (in chunks), one bulk write per collection, one `$inc` per
aggregate it changes.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pymongo import ASCENDING, ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.indicators.domain.facts import ClientFacts, CountedAction, CountedItem, StatusFacts
from services.indicators.domain.figures import EMPTY, AggregateKey, Figures
from services.indicators.domain.history import EventRef, LogEntry
from services.indicators.ports import (
    Change,
    Definition,
    HeldAction,
    HeldItem,
    Keys,
    Loaded,
    Recorded,
    Saved,
    Stamp,
    TenantKey,
)
from shared.contracts.values import ActionSnapshot, ItemSnapshot
from shared.platform.mongo import doc_id, find_by_ids

ITEMS = "items"
ACTIONS = "actions"
CLIENTS = "clients"
STATUSES = "statuses"
AGGREGATES = "aggregates"
HISTORY = "history"
# Counter on client and status documents, written by every counting transaction that read them.
READ_MARK = "counting_reads"


def storage_parts(figures: Figures) -> dict[str, Figures]:
    """An aggregate as stored: its plain sums in one document (part ""), each per-date sum in one
    document per figure and month (part "due.2026-10"). On SecantusDB an update costs in proportion
    to the size of the document (10 keys ~1 ms, 200 keys ~8 ms, 700 keys ~40 ms), and per-date sums
    grow with the length of the history: split, no document grows past a month of dates."""
    parts: dict[str, list[tuple[str, Decimal]]] = {}
    for name, value in figures.items():
        head, _, day = name.partition(".")
        parts.setdefault(f"{head}.{day[:7]}" if day else "", []).append((name, value))
    return {part: Figures(values) for part, values in parts.items()}


def aggregate_updates(tenant_id: str, key: AggregateKey, figures: Figures, *, at: datetime,
                      event_time: datetime) -> list[UpdateOne]:
    """Add `figures` to one aggregate (one update per document it touches); an aggregate touched by
    changes that cancel out still shows when it was."""
    return [_part_update(tenant_id, key, part, part_figures, at=at, event_time=event_time)
            for part, part_figures in (storage_parts(figures) or {"": EMPTY}).items()]


def _part_update(tenant_id: str, key: AggregateKey, part: str, figures: Figures, *, at: datetime,
                 event_time: datetime) -> UpdateOne:
    on_insert: dict[str, Any] = {"tenant_id": tenant_id, "scope": key.scope, "currency": key.currency,
                                 "created_at": at}
    if part:
        on_insert["part"] = part
    update: dict[str, Any] = {"$max": {"updated_at": at, "last_event_at": event_time}, "$setOnInsert": on_insert}
    if figures:
        update["$inc"] = {f"figures.{name}": value for name, value in figures.items()}
    parts = (tenant_id, key.scope, key.currency, part) if part else (tenant_id, key.scope, key.currency)
    return UpdateOne({"_id": doc_id(*parts)}, update, upsert=True)


class MongoIndicatorStore:
    """Implements `IndicatorStore` on the service's database, in the transaction of `session`."""

    def __init__(self, db: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self.session = session  # the transaction every read and write of this store joins (None: none)
        self.items = db[ITEMS]
        self.actions = db[ACTIONS]
        self.clients_ = db[CLIENTS]
        self.statuses_ = db[STATUSES]
        self.aggregates = db[AGGREGATES]
        self.history = db[HISTORY]

    async def ensure_indexes(self) -> None:
        await self.items.create_index([("tenant_id", ASCENDING), ("client_id", ASCENDING)])
        await self.items.create_index([("tenant_id", ASCENDING), ("counted.status_code", ASCENDING),
                                       ("counted.status_rule", ASCENDING)])
        await self.actions.create_index([("tenant_id", ASCENDING), ("client_id", ASCENDING)])
        await self.clients_.create_index([("tenant_id", ASCENDING), ("group_id", ASCENDING)])
        await self.clients_.create_index("changed_at")
        await self.statuses_.create_index("changed_at")
        await self.aggregates.create_index([("tenant_id", ASCENDING), ("scope", ASCENDING)])
        await self.aggregates.create_index([("scope", ASCENDING), ("tenant_id", ASCENDING)])
        await self.history.create_index([("tenant_id", ASCENDING), ("scopes", ASCENDING), ("at", ASCENDING)])
        await self.history.create_index([("tenant_id", ASCENDING), ("at", ASCENDING)])

    # -- reads inside an event's transaction --

    async def held_items(self, tenant_id: str, item_ids: Sequence[str]) -> dict[str, HeldItem]:
        ids = [doc_id(tenant_id, item_id) for item_id in item_ids]
        docs = await find_by_ids(self.items, ids, session=self.session)
        return {doc["item_id"]: held_item(doc) for doc in docs}

    async def held_actions(self, tenant_id: str, action_ids: Sequence[str]) -> dict[str, HeldAction]:
        ids = [doc_id(tenant_id, action_id) for action_id in action_ids]
        docs = await find_by_ids(self.actions, ids, session=self.session)
        return {doc["action_id"]: held_action(doc) for doc in docs}

    async def clients(self, tenant_id: str, client_ids: Sequence[str]) -> dict[str, ClientFacts]:
        ids = [doc_id(tenant_id, client_id) for client_id in client_ids]
        return {doc["client_id"]: ClientFacts.model_validate(doc)
                for doc in defined(await find_by_ids(self.clients_, ids, session=self.session))}

    async def statuses(self, tenant_id: str, codes: Sequence[str]) -> dict[str, StatusFacts]:
        ids = [doc_id(tenant_id, code) for code in codes]
        return {doc["code"]: StatusFacts.model_validate(doc)
                for doc in defined(await find_by_ids(self.statuses_, ids, session=self.session))}

    async def load(self, keys: Keys) -> Loaded:
        async def by_key(collection: Any, wanted: set[TenantKey]) -> list[dict[str, Any]]:
            return await find_by_ids(collection, sorted(doc_id(*key) for key in wanted), session=self.session)

        return Loaded(
            items={(doc["tenant_id"], doc["item_id"]): held_item(doc) for doc in await by_key(self.items, keys.items)},
            actions={(doc["tenant_id"], doc["action_id"]): held_action(doc)
                     for doc in await by_key(self.actions, keys.actions)},
            clients={(doc["tenant_id"], doc["client_id"]): ClientFacts.model_validate(doc)
                     for doc in defined(await by_key(self.clients_, keys.clients))},
            statuses={(doc["tenant_id"], doc["code"]): StatusFacts.model_validate(doc)
                      for doc in defined(await by_key(self.statuses_, keys.statuses))},
        )

    # -- writes --

    async def save_client(self, tenant_id: str, facts: ClientFacts, *, stamp: Stamp) -> Saved:
        return await self._save_versioned(self.clients_, doc_id(tenant_id, facts.client_id), tenant_id, facts,
                                          ClientFacts, stamp=stamp)

    async def save_status(self, tenant_id: str, facts: StatusFacts, *, stamp: Stamp) -> Saved:
        return await self._save_versioned(self.statuses_, doc_id(tenant_id, facts.code), tenant_id, facts,
                                          StatusFacts, stamp=stamp)

    async def _save_versioned(self, collection: Any, key: str, tenant_id: str, facts: ClientFacts | StatusFacts,
                              cls: type[ClientFacts] | type[StatusFacts], *, stamp: Stamp) -> Saved:
        current = await collection.find_one({"_id": key}, session=self.session)
        previous = cls.model_validate(current) if current and is_defined(current) else None
        if previous is not None and previous.version >= facts.version:
            return Saved(saved=False, previous=previous)
        doc = {"_id": key, "tenant_id": tenant_id, **facts.model_dump(), "changed_at": stamp.at,
               "event": stamp.event.model_dump()}
        await collection.replace_one({"_id": key}, doc, upsert=True, session=self.session)
        return Saved(saved=True, previous=previous)

    async def mark_facts_read(self, clients: Iterable[TenantKey], statuses: Iterable[TenantKey]) -> None:
        for collection, keys, name in ((self.clients_, clients, "client_id"), (self.statuses_, statuses, "code")):
            marks = [UpdateOne({"_id": doc_id(tenant_id, key)}, {"$inc": {READ_MARK: 1},
                               "$setOnInsert": {"tenant_id": tenant_id, name: key}}, upsert=True)
                     for tenant_id, key in sorted(keys)]
            if marks:
                await collection.bulk_write(marks, ordered=False, session=self.session)

    async def record(self, tenant_id: str, changes: Sequence[Change], *, stamp: Stamp) -> None:
        await self.record_many([Recorded(tenant_id=tenant_id, change=one, stamp=stamp) for one in changes])

    async def record_many(self, recorded: Sequence[Recorded]) -> None:
        items: dict[str, ReplaceOne] = {}
        actions: dict[str, ReplaceOne] = {}
        entries: list[dict[str, Any]] = []
        totals: dict[tuple[str, AggregateKey], Figures] = {}
        latest: dict[tuple[str, AggregateKey], tuple[datetime, datetime]] = {}
        for one in recorded:
            doc = subject_doc(one.tenant_id, one.change, one.stamp)
            # The last state of a subject wins: changes are recorded in the order they were applied.
            (items if one.change.subject_kind == "item" else actions)[doc["_id"]] = ReplaceOne(
                {"_id": doc["_id"]}, doc, upsert=True)
            deltas = one.change.deltas
            if not deltas:
                continue
            entries.append(history_doc(one.tenant_id, one.change, one.stamp))
            for key, figures in deltas.items():
                touched = (one.tenant_id, key)
                totals[touched] = totals.get(touched, EMPTY) + figures
                at, event_time = latest.get(touched, (one.stamp.at, one.stamp.event.event_time))
                latest[touched] = (max(at, one.stamp.at), max(event_time, one.stamp.event.event_time))
        # The aggregates first, right after the batch's reads: of two transactions writing a document,
        # the first to write wins (the other gets a write conflict and is retried), so the one that
        # started first commits, however long, rather than losing to every shorter one.
        if totals:
            updates = [update for tenant_id, key in sorted(totals)
                       for update in aggregate_updates(tenant_id, key, totals[(tenant_id, key)],
                                                       at=latest[(tenant_id, key)][0],
                                                       event_time=latest[(tenant_id, key)][1])]
            await self.aggregates.bulk_write(updates, ordered=False, session=self.session)
        if items:
            await self.items.bulk_write(list(items.values()), ordered=False, session=self.session)
        if actions:
            await self.actions.bulk_write(list(actions.values()), ordered=False, session=self.session)
        if entries:
            await self.history.insert_many(entries, ordered=False, session=self.session)

    async def correct(self, tenant_id: str, aggregates: Mapping[AggregateKey, Figures],
                      entries: Sequence[LogEntry], *, stamp: Stamp) -> None:
        if aggregates:
            updates = [update for key, figures in sorted(aggregates.items())
                       for update in aggregate_updates(tenant_id, key, figures, at=stamp.at,
                                                       event_time=stamp.event.event_time)]
            await self.aggregates.bulk_write(updates, session=self.session)
        if entries:
            await self.history.insert_many([{"tenant_id": tenant_id, **entry.model_dump()} for entry in entries],
                                           session=self.session)

    # -- what a recount needs (outside the event's transaction) --

    async def item_ids_of_client(self, tenant_id: str, client_id: str) -> list[str]:
        cursor = self.items.find({"tenant_id": tenant_id, "client_id": client_id}, {"item_id": 1})
        return [doc["item_id"] async for doc in cursor]

    async def action_ids_of_client(self, tenant_id: str, client_id: str) -> list[str]:
        cursor = self.actions.find({"tenant_id": tenant_id, "client_id": client_id}, {"action_id": 1})
        return [doc["action_id"] async for doc in cursor]

    async def item_ids_counted_under(self, tenant_id: str, status_code: str, rules: Sequence[str]) -> list[str]:
        query = {"tenant_id": tenant_id, "counted.status_code": status_code,
                 "counted.status_rule": {"$in": list(rules)}}
        return [doc["item_id"] async for doc in self.items.find(query, {"item_id": 1})]

    async def recently_defined(self, since: datetime) -> tuple[list[Definition], list[Definition]]:
        clients = [Definition(doc["tenant_id"], doc["client_id"], EventRef.model_validate(doc["event"]))
                   async for doc in self.clients_.find({"changed_at": {"$gte": since}})]
        statuses = [Definition(doc["tenant_id"], doc["code"], EventRef.model_validate(doc["event"]))
                    async for doc in self.statuses_.find({"changed_at": {"$gte": since}})]
        return clients, statuses


def is_defined(doc: dict[str, Any]) -> bool:
    """False for the placeholder a read mark leaves on a client or status no event has defined yet."""
    return "version" in doc


def defined(docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in docs if is_defined(doc)]


def held_item(doc: dict[str, Any]) -> HeldItem:
    return HeldItem(snapshot=ItemSnapshot.model_validate(doc["snapshot"]),
                    counted=CountedItem.model_validate(doc["counted"]))


def held_action(doc: dict[str, Any]) -> HeldAction:
    return HeldAction(snapshot=ActionSnapshot.model_validate(doc["snapshot"]),
                      counted=CountedAction.model_validate(doc["counted"]))


def subject_doc(tenant_id: str, one: Change, stamp: Stamp) -> dict[str, Any]:
    """An item's (or action's) newest snapshot and what it counts as, in one document."""
    return {
        "_id": doc_id(tenant_id, one.subject_id),
        "tenant_id": tenant_id,
        f"{one.subject_kind}_id": one.subject_id,
        "client_id": one.snapshot.client_id,
        "version": one.snapshot.version,
        "snapshot": one.snapshot.model_dump(),
        "counted": one.after.model_dump(),
        "updated_at": stamp.at,
    }


def history_doc(tenant_id: str, one: Change, stamp: Stamp) -> dict[str, Any]:
    entry = LogEntry(at=stamp.at, event=stamp.event, subject_kind=one.subject_kind,  # type: ignore[arg-type]
                     subject_id=one.subject_id, client_id=one.snapshot.client_id, before=one.before,
                     after=one.after, scopes=one.scopes)
    return {"tenant_id": tenant_id, **entry.model_dump()}
