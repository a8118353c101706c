"""MongoDB repositories of the dunning service: the only code that knows its collections.

Every document carries `tenant_id` and every query filters on it. Ids are `<tenant>|<id>` so a
redelivered event or a replay upserts the same document. Queries the scheduler runs on every pass
have a compound index whose prefix is exactly their equality fields followed by one range.
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReplaceOne, UpdateMany, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.dunning.domain.decisions import StepRecord
from services.dunning.domain.messages import CompanyProfile
from services.dunning.domain.scenarios import Scenario
from services.dunning.domain.state import ActionState, ClientState, ItemState, RunState, StatusRule
from shared.platform.mongo import ID_CHUNK, doc_id, find_by_ids
from shared.sequences import chunks

Session = AsyncClientSession | None
# A long `$in` is matched element by element against every candidate on SecantusDB (cost ~ ids x docs):
# lists of ids are asked, and written, in chunks of this size (the platform's, for the same reason).
IN_CHUNK = ID_CHUNK
DUPLICATE_KEY = 11000
# Where an item stands in its scenario: what the scheduler's compare-and-set compares.
_POSITION = ("version", "next_step", "scenario_code")
# Indexes earlier versions created on `items` that no query needs any more (dropped on start).
RETIRED_ITEM_INDEXES = ("tenant_id_1_scenario_code_1_due_date_1", "_id_1_version_1_next_step_1_scenario_code_1",
                        "tenant_id_1_status_code_1")



def _doc(tenant_id: str, key: str, model: Any) -> dict[str, Any]:
    return {"_id": doc_id(tenant_id, key), "tenant_id": tenant_id, **model.model_dump(mode="python")}


def _stored(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: (value.model_dump() if hasattr(value, "model_dump") else value) for name, value in fields.items()}



class DunningStore:
    """Scenarios, clients, statuses, items, specific actions, step records and history of every tenant."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.db = db
        self.scenarios = db["scenarios"]
        self.settings = db["tenant_settings"]
        self.clients = db["clients"]
        self.statuses = db["statuses"]
        self.items = db["items"]
        self.actions = db["actions"]
        self.records = db["step_records"]
        self.history = db["history"]

    async def ensure_indexes(self) -> None:
        await self.scenarios.create_index([("tenant_id", ASCENDING), ("code", ASCENDING)])
        await self.clients.create_index([("tenant_id", ASCENDING), ("scenario_code", ASCENDING)])
        await self.clients.create_index([("tenant_id", ASCENDING), ("collector.user_id", ASCENDING)])
        existing = await self.items.index_information()
        for name in RETIRED_ITEM_INDEXES:
            if name in existing:
                await self.items.drop_index(name)
        # Every index of `items` is paid on each item write (the scheduler moves thousands per pass):
        # keep only the ones queries need. The due query {tenant_id, scenario_code, next_step,
        # due_date <= day} also serves the dry run's window (one query per step).
        await self.items.create_index([("tenant_id", ASCENDING), ("scenario_code", ASCENDING),
                                       ("next_step", ASCENDING), ("due_date", ASCENDING)])
        await self.items.create_index([("tenant_id", ASCENDING), ("client_id", ASCENDING)])
        # Only items carrying a status are ever looked up by status: the others cost this index nothing.
        await self.items.create_index([("tenant_id", ASCENDING), ("status_code", ASCENDING)], name="items_with_status",
                                      partialFilterExpression={"status_code": {"$gt": ""}})
        await self.actions.create_index([("run_state", ASCENDING), ("run_on", ASCENDING)])
        await self.actions.create_index([("tenant_id", ASCENDING), ("run_on", ASCENDING)])
        await self.records.create_index([("tenant_id", ASCENDING), ("client_id", ASCENDING), ("recorded_at", DESCENDING)])
        await self.records.create_index([("tenant_id", ASCENDING), ("agenda_on", ASCENDING)])
        await self.records.create_index([("tenant_id", ASCENDING), ("group_base", ASCENDING)])
        await self.history.create_index([("tenant_id", ASCENDING), ("client_id", ASCENDING), ("at", DESCENDING)])

    # -- scenarios and tenant settings --

    async def scenarios_of(self, tenant_id: str, *, session: Session = None) -> list[Scenario]:
        docs = await self.scenarios.find({"tenant_id": tenant_id}, session=session).to_list()
        return sorted((Scenario.model_validate(doc) for doc in docs), key=lambda s: s.code)

    async def scenario(self, tenant_id: str, code: str, *, session: Session = None) -> Scenario | None:
        doc = await self.scenarios.find_one({"_id": doc_id(tenant_id, code)}, session=session)
        return Scenario.model_validate(doc) if doc else None

    async def save_scenario(self, scenario: Scenario, *, at: datetime, session: Session = None) -> None:
        doc = {**_doc(scenario.tenant_id, scenario.code, scenario), "updated_at": at}
        await self.scenarios.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)

    async def insert_scenario_if_missing(self, scenario: Scenario, *, at: datetime, session: Session = None) -> bool:
        doc = {**_doc(scenario.tenant_id, scenario.code, scenario), "updated_at": at}
        result = await self.scenarios.update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True,
                                                 session=session)
        return result.upserted_id is not None

    async def unset_default(self, tenant_id: str, *, except_code: str, session: Session = None) -> None:
        await self.scenarios.update_many({"tenant_id": tenant_id, "code": {"$ne": except_code}},
                                         {"$set": {"is_default": False}}, session=session)

    async def delete_scenario(self, tenant_id: str, code: str, *, session: Session = None) -> bool:
        result = await self.scenarios.delete_one({"_id": doc_id(tenant_id, code)}, session=session)
        return result.deleted_count == 1

    async def tenants(self) -> list[str]:
        return sorted(await self.scenarios.distinct("tenant_id"))

    async def company(self, tenant_id: str, *, session: Session = None) -> CompanyProfile | None:
        doc = await self.settings.find_one({"_id": tenant_id}, session=session)
        return CompanyProfile.model_validate(doc["company"]) if doc and doc.get("company") else None

    async def save_company(self, tenant_id: str, company: CompanyProfile, *, session: Session = None) -> None:
        await self.settings.update_one({"_id": tenant_id}, {"$set": {"tenant_id": tenant_id,
                                                                     "company": company.model_dump()}},
                                       upsert=True, session=session)

    async def mark_remap(self, tenant_id: str, token: str, *, session: Session = None) -> None:
        await self.settings.update_one({"_id": tenant_id}, {"$set": {"tenant_id": tenant_id, "remap_token": token}},
                                       upsert=True, session=session)

    async def remap_token(self, tenant_id: str) -> str | None:
        doc = await self.settings.find_one({"_id": tenant_id}, {"remap_token": 1})
        return doc.get("remap_token") if doc else None

    async def clear_remap(self, tenant_id: str, token: str) -> None:
        await self.settings.update_one({"_id": tenant_id, "remap_token": token}, {"$unset": {"remap_token": ""}})

    # -- clients and statuses --

    async def client(self, tenant_id: str, client_id: str, *, session: Session = None) -> ClientState | None:
        doc = await self.clients.find_one({"_id": doc_id(tenant_id, client_id)}, session=session)
        return ClientState.model_validate(doc) if doc else None

    async def clients_by_id(self, tenant_id: str, client_ids: Iterable[str], *, session: Session = None
                            ) -> dict[str, ClientState]:
        ids = [doc_id(tenant_id, cid) for cid in sorted(set(client_ids))]
        docs = await find_by_ids(self.clients, ids, session=session, chunk=IN_CHUNK)
        return {doc["client_id"]: ClientState.model_validate(doc) for doc in docs}

    async def all_clients(self, tenant_id: str) -> dict[str, ClientState]:
        docs = await self.clients.find({"tenant_id": tenant_id}).to_list()
        return {doc["client_id"]: ClientState.model_validate(doc) for doc in docs}

    async def client_ids_of_collector(self, tenant_id: str, user_id: str) -> list[str]:
        docs = await self.clients.find({"tenant_id": tenant_id, "collector.user_id": user_id}, {"client_id": 1}).to_list()
        return [doc["client_id"] for doc in docs]

    async def save_client(self, tenant_id: str, client: ClientState, *, session: Session = None) -> None:
        doc = _doc(tenant_id, client.client_id, client)
        await self.clients.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)

    async def status_rules(self, tenant_id: str, *, session: Session = None) -> dict[str, StatusRule]:
        docs = await self.statuses.find({"tenant_id": tenant_id}, session=session).to_list()
        return {doc["code"]: StatusRule.model_validate(doc) for doc in docs}

    async def save_status(self, tenant_id: str, rule: StatusRule, *, session: Session = None) -> None:
        doc = _doc(tenant_id, rule.code, rule)
        await self.statuses.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)

    # -- items --

    async def items_by_id(self, tenant_id: str, item_ids: Iterable[str], *, session: Session = None
                          ) -> dict[str, ItemState]:
        ids = [doc_id(tenant_id, iid) for iid in sorted(set(item_ids))]
        docs = await find_by_ids(self.items, ids, session=session, chunk=IN_CHUNK)
        return {doc["item_id"]: ItemState.model_validate(doc) for doc in docs}

    async def items_where(self, tenant_id: str, query: dict[str, Any], *, session: Session = None,
                          limit: int = 0) -> list[ItemState]:
        docs = await self.items.find({"tenant_id": tenant_id, **query}, session=session, limit=limit).to_list()
        return [ItemState.model_validate(doc) for doc in docs]

    async def due_items(self, tenant_id: str, scenario_code: str, step_code: str, due_on_or_before: date,
                        *, limit: int = 0) -> list[ItemState]:
        """Items at `step_code` whose due date makes that step due (indexed; see ensure_indexes)."""
        query = {"tenant_id": tenant_id, "scenario_code": scenario_code, "next_step": step_code,
                 "due_date": {"$lte": due_on_or_before}}
        docs = await self.items.find(query, limit=limit).to_list()
        return [ItemState.model_validate(doc) for doc in docs]

    async def items_due_between(self, tenant_id: str, scenario: Scenario, first: date, last: date) -> list[ItemState]:
        """Items of the scenario due in [first, last]: one due-index query per position (each step, or none)."""
        found: list[ItemState] = []
        for next_step in [step.code for step in scenario.steps] + [None]:
            query = {"tenant_id": tenant_id, "scenario_code": scenario.code, "next_step": next_step,
                     "due_date": {"$gte": first, "$lte": last}}
            found += [ItemState.model_validate(doc) for doc in await self.items.find(query).to_list()]
        return found

    async def save_items(self, tenant_id: str, items: Sequence[ItemState], *, session: Session = None) -> None:
        if items:
            await self.items.bulk_write([ReplaceOne({"_id": doc_id(tenant_id, item.item_id)},
                                                    _doc(tenant_id, item.item_id, item), upsert=True)
                                         for item in items], ordered=False, session=session)

    async def update_items(self, tenant_id: str, updates: dict[str, dict[str, Any]], *, session: Session = None) -> None:
        """Apply `$set` updates; items sharing the same update go in update_many (chunked `$in`)."""
        grouped: dict[str, tuple[dict[str, Any], list[str]]] = {}
        for item_id, fields in updates.items():
            stored = _stored(fields)
            grouped.setdefault(repr(sorted(stored.items())), (stored, []))[1].append(doc_id(tenant_id, item_id))
        operations = [UpdateMany({"_id": {"$in": chunk}}, {"$set": fields})
                      for fields, ids in grouped.values() for chunk in chunks(ids, IN_CHUNK)]
        if operations:
            await self.items.bulk_write(operations, ordered=False, session=session)

    async def move_items(self, tenant_id: str, moves: Sequence[tuple[ItemState, dict[str, Any]]], *,
                         session: AsyncClientSession) -> bool:
        """Set each item's new position only if it is still as it was read (same version, same next step,
        same scenario); False when any was not: the caller aborts its transaction.

        Compare-and-set inside the caller's transaction: the positions are read in it and compared here, then
        written by `_id` alone, items moved the same way in one update_many per chunk (a change committed by
        someone else after that read makes the write conflict, and the transaction is retried). Not as one
        filter of `_id` plus the expected fields: SecantusDB's Rust server uses the `_id` index only for a
        filter on `_id` alone and scanned every item for each chunk (0.16 s a chunk over 100 000 items)."""
        if not moves:
            return True
        ids = [doc_id(tenant_id, item.item_id) for item, _ in moves]
        stored = {doc["_id"]: doc for doc in await find_by_ids(
            self.items, ids, projection=dict.fromkeys(_POSITION, 1), session=session, chunk=IN_CHUNK)}
        for key, (item, _) in zip(ids, moves, strict=True):
            now = stored.get(key, {})
            if any(now.get(name) != getattr(item, name) for name in _POSITION):
                return False
        grouped: dict[str, tuple[dict[str, Any], list[str]]] = {}
        for key, (_, fields) in zip(ids, moves, strict=True):
            values = _stored(fields)
            grouped.setdefault(repr(sorted(values.items())), (values, []))[1].append(key)
        # The update is written as a one-stage pipeline of literals (same effect as `$set`): SecantusDB's
        # Python server then skips the per-document operator diff, the largest single cost of a move there.
        operations = [UpdateMany({"_id": {"$in": chunk}},
                                 [{"$set": {name: {"$literal": value} for name, value in values.items()}}])
                      for values, keys in grouped.values() for chunk in chunks(keys, IN_CHUNK)]
        await self.items.bulk_write(operations, ordered=False, session=session)
        return True

    # -- specific actions --

    async def action(self, tenant_id: str, action_id: str, *, session: Session = None) -> ActionState | None:
        doc = await self.actions.find_one({"_id": doc_id(tenant_id, action_id)}, session=session)
        return ActionState.model_validate(doc) if doc else None

    async def save_action(self, tenant_id: str, state: ActionState, *, session: Session = None) -> None:
        doc = _doc(tenant_id, state.action.action_id, state)
        doc["client_id"] = state.action.client_id
        await self.actions.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)

    async def actions_to_run(self, today: date, *, limit: int) -> list[tuple[str, ActionState]]:
        docs = await self.actions.find({"run_state": RunState.PENDING.value, "run_on": {"$lte": today}},
                                       limit=limit).to_list()
        return [(doc["tenant_id"], ActionState.model_validate(doc)) for doc in docs]

    async def actions_between(self, tenant_id: str, first: date, last: date) -> list[ActionState]:
        docs = await self.actions.find({"tenant_id": tenant_id, "run_on": {"$gte": first, "$lte": last}}).to_list()
        return [ActionState.model_validate(doc) for doc in docs]

    # -- step records and history --

    async def insert_records(self, records: Sequence[StepRecord], *, session: Session = None) -> None:
        """Insert the records; DuplicateKeyError when one is already there (another runner recorded it)."""
        if records:
            docs = [{"_id": record.record_id, **record.model_dump(mode="python")} for record in records]
            try:
                await self.records.insert_many(docs, ordered=True, session=session)
            except BulkWriteError as exc:  # what insert_many raises, whatever the error
                errors = exc.details.get("writeErrors", [])
                if errors and all(error.get("code") == DUPLICATE_KEY for error in errors):
                    raise DuplicateKeyError(errors[0].get("errmsg", "duplicate step record"), DUPLICATE_KEY) from exc
                raise

    async def group_keys_used(self, tenant_id: str, bases: Sequence[str], *, session: Session = None
                              ) -> dict[str, set[str]]:
        """For each (client, step, day) base key, the group keys already recorded that day."""
        docs = []
        for chunk in chunks(sorted(set(bases)), IN_CHUNK):
            docs += await self.records.find({"tenant_id": tenant_id, "group_base": {"$in": chunk}},
                                            {"group_key": 1, "group_base": 1}, session=session).to_list()
        used: dict[str, set[str]] = {}
        for doc in docs:
            used.setdefault(doc["group_base"], set()).add(doc["group_key"])
        return used

    async def record(self, tenant_id: str, record_id: str, *, session: Session = None) -> StepRecord | None:
        doc = await self.records.find_one({"_id": record_id, "tenant_id": tenant_id}, session=session)
        return StepRecord.model_validate(doc) if doc else None

    async def replace_record(self, record: StepRecord, *, session: Session = None) -> None:
        await self.records.replace_one({"_id": record.record_id, "tenant_id": record.tenant_id},
                                       {"_id": record.record_id, **record.model_dump(mode="python")}, session=session)

    async def records_of_client(self, tenant_id: str, client_id: str, *, limit: int) -> list[StepRecord]:
        docs = await self.records.find({"tenant_id": tenant_id, "client_id": client_id},
                                       sort=[("recorded_at", DESCENDING)], limit=limit).to_list()
        return [StepRecord.model_validate(doc) for doc in docs]

    async def agenda_records(self, tenant_id: str, first: date, last: date) -> list[StepRecord]:
        docs = await self.records.find({"tenant_id": tenant_id, "agenda_on": {"$gte": first, "$lte": last}}).to_list()
        return [StepRecord.model_validate(doc) for doc in docs]

    async def records_between(self, tenant_id: str, first: date, last: date, *, outcome: str) -> list[StepRecord]:
        docs = await self.records.find({"tenant_id": tenant_id, "due_on": {"$gte": first, "$lte": last},
                                        "outcome": outcome}).to_list()
        return [StepRecord.model_validate(doc) for doc in docs]

    async def add_history(self, entries: Sequence[dict[str, Any]], *, session: Session = None) -> None:
        """Entries carry a deterministic `_id`: a replayed event writes the same entry once."""
        if entries:
            await self.history.bulk_write([UpdateOne({"_id": e["_id"]}, {"$setOnInsert": e}, upsert=True)
                                           for e in entries], ordered=False, session=session)

    async def history_of_client(self, tenant_id: str, client_id: str, *, limit: int) -> list[dict[str, Any]]:
        return await self.history.find({"tenant_id": tenant_id, "client_id": client_id},
                                       sort=[("at", DESCENDING)], limit=limit).to_list()
