"""Receivables intake: clients and items from the ERP, in bulk (streamed, chunk by chunk) or one at a time.

Each chunk of rows is one transaction; every row is accounted for in the report (created, updated, closed,
unchanged, or rejected with its reasons): nothing is silently dropped. Re-sending the same rows changes
nothing and publishes nothing. Closing an item is an update like any other (open amount 0); when that
closes the last open item of a specific action, the action is deleted (rule 7).
"""

from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from shared.contracts.receivables import ReattachReason
from shared.contracts.values import SYSTEM, ItemSnapshot
from shared.ports import Flow
from services.followups.domain import actions as act
from services.followups.domain.errors import Invalid, listed
from services.followups.domain.formulas import formula_fields
from services.followups.domain.items import ERP_FIELDS, ErpChange, ItemInput, merge_erp_update
from services.followups.domain.parties import Client, ClientInput, merge_client
from services.followups.handlers.changes import Changes
from services.followups.handlers.context import Caller, Deps, user_refs
from services.followups.ports import Row, StreamBroken, Tx

M = TypeVar("M", bound=ItemInput | ClientInput)
ITEM_COLUMNS = frozenset({"item_id", "client_id", *ERP_FIELDS})
CLIENT_COLUMNS = frozenset(ClientInput.model_fields) - {"contacts", "late_penalties"} | {
    "contact_name", "contact_email", "contact_phone", "contact_language", "contact_role", "late_penalty_rate",
    "late_penalty_fee"}
AMOUNT_COLUMNS = ("amount", "open_amount", "late_penalty_rate", "late_penalty_fee")
FORMULA_REFUSED = ("starts with =, +, -, @, a tab or a carriage return: a spreadsheet would run it as a formula "
                   "(write it without that first character, or quote it as text in the ERP)")


class Rejection(BaseModel):
    row: int = Field(description="CSV: the line the record starts on; JSON: its position (1-based)")
    key: str | None = None
    errors: list[str]


class ImportReport(BaseModel):
    rows: int = 0
    created: int = 0
    updated: int = 0
    closed: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = Field(default_factory=list)
    stopped: str | None = Field(None, description="Why the body could not be read to its end (rows after it "
                                                  "were not imported)")


@dataclass
class ChunkResult:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rejected: list[Rejection] = field(default_factory=list)
    outcomes: dict[str, tuple[Any, ErpChange]] = field(default_factory=dict)

    def reject(self, row: int, key: str, error: str) -> None:
        self.rejected.append(Rejection(row=row, key=key, errors=[error]))


Chunk = list[tuple[int, Any]]
WriteChunk = Callable[[Chunk, Caller, Deps], Awaitable[ChunkResult]]


async def import_items(rows: AsyncIterator[Row], *, caller: Caller, deps: Deps) -> ImportReport:
    return await _import(rows, ItemInput, ITEM_COLUMNS, write_items, caller=caller, deps=deps)


async def import_clients(rows: AsyncIterator[Row], *, caller: Caller, deps: Deps) -> ImportReport:
    return await _import(rows, ClientInput, CLIENT_COLUMNS, write_clients, caller=caller, deps=deps)


async def upsert_item(item_id: str, body: ItemInput, *, caller: Caller, deps: Deps
                      ) -> tuple[ItemSnapshot, ErpChange]:
    _refuse_formulas(body)
    if body.item_id not in (None, item_id):
        raise Invalid(f"the body's item_id {body.item_id!r} differs from the URL's {item_id!r}", code="id_mismatch")
    result = await write_items([(1, body.model_copy(update={"item_id": item_id}))], caller, deps)
    return _single(result, "item", item_id)


async def upsert_client(client_id: str, body: ClientInput, *, caller: Caller, deps: Deps
                        ) -> tuple[Client, ErpChange]:
    _refuse_formulas(body)
    if body.client_id not in (None, client_id):
        raise Invalid(f"the body's client_id {body.client_id!r} differs from the URL's {client_id!r}",
                      code="id_mismatch")
    result = await write_clients([(1, body.model_copy(update={"client_id": client_id}))], caller, deps)
    return _single(result, "client", client_id)


def _refuse_formulas(body: ItemInput | ClientInput) -> None:
    if formulas := formula_fields(body):
        raise Invalid(f"{listed(formulas)}: {FORMULA_REFUSED}", code="formula_refused", fields=formulas)


def _single(result: ChunkResult, what: str, key: str) -> Any:
    if result.rejected:
        raise Invalid("; ".join(result.rejected[0].errors), code=f"{what}_rejected", key=key)
    return result.outcomes[key]


async def _import(rows: AsyncIterator[Row], model: type[M], columns: frozenset[str], write: WriteChunk, *,
                  caller: Caller, deps: Deps) -> ImportReport:
    report = ImportReport()
    pending: Chunk = []
    seen: dict[str, int] = {}
    from_csv = False
    try:
        async for row in rows:
            if row.header is not None:
                _check_columns(row.header, columns)
                from_csv = True
                continue
            report.rows += 1
            parsed = _parse(row, model, from_csv, report)
            if parsed is None:
                continue
            if parsed.key in seen:
                report.rejected.append(Rejection(row=row.number, key=parsed.key,
                                                 errors=[f"duplicate of row {seen[parsed.key]}"]))
                continue
            seen[parsed.key] = row.number
            pending.append((row.number, parsed))
            if len(pending) >= deps.settings.import_chunk_rows:
                _merge(report, await write(pending, caller, deps))
                pending = []
    except StreamBroken as exc:
        if report.rows == 0:  # nothing read: the whole body is refused (UTF-16, not UTF-8, over the limit)
            raise Invalid(f"the import cannot be read: {exc}", code="unreadable_import") from None
        report.stopped = str(exc)
    if pending:
        _merge(report, await write(pending, caller, deps))
    report.rejected.sort(key=lambda rejection: rejection.row)
    return report


def _check_columns(header: list[str], columns: frozenset[str]) -> None:
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise Invalid(f"repeated columns: {listed(repeated)} (which value is meant cannot be told)",
                      code="repeated_columns", columns=repeated)
    unknown = [name for name in header if name not in columns]
    if unknown:
        raise Invalid(f"unknown columns: {listed(unknown)} (known: {', '.join(sorted(columns))})",
                      code="unknown_columns", columns=unknown)


def _parse(row: Row, model: type[M], from_csv: bool, report: ImportReport) -> M | None:
    if row.error or row.data is None:
        report.rejected.append(Rejection(row=row.number, errors=[row.error or "empty row"]))
        return None
    data = _from_csv(row.data) if from_csv else row.data
    key = data.get("item_id") or data.get("client_id") or data.get("number")
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        errors = [f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()]
        report.rejected.append(Rejection(row=row.number, key=str(key) if key else None, errors=errors))
        return None
    if formulas := formula_fields(parsed):
        report.rejected.append(Rejection(row=row.number, key=str(key) if key else None, errors=[
            f"{field}: {FORMULA_REFUSED}" for field in formulas]))
        return None
    return parsed


def _from_csv(cells: dict[str, Any]) -> dict[str, Any]:
    """Flat CSV cells to the nested shape: one primary contact, late penalties, decimal commas."""
    data = {name: _decimal(value) if name in AMOUNT_COLUMNS else value for name, value in cells.items()}
    contact = {key[len("contact_"):]: data.pop(key) for key in list(data) if key.startswith("contact_")}
    if contact:
        data["contacts"] = [{"contact_id": "primary", "is_primary": True, "name": contact.get("name", ""),
                             **{k: v for k, v in contact.items() if k != "name"}}]
    penalties = {key[len("late_penalty_"):]: data.pop(key) for key in list(data) if key.startswith("late_penalty_")}
    if penalties:
        data["late_penalties"] = {"annual_rate": penalties.get("rate"), "fixed_fee": penalties.get("fee", "0")}
    return data


def _decimal(text: str) -> str:
    """`1 234,56` and `1.234,56` → `1234.56`; `1,234.56` → `1234.56`."""
    text = text.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        text = text.replace(thousands, "")
    return text.replace(",", ".")


def _merge(report: ImportReport, result: ChunkResult) -> None:
    for name in ("created", "updated", "closed", "unchanged"):
        setattr(report, name, getattr(report, name) + result.counts[name])
    report.rejected.extend(result.rejected)


async def write_items(rows: Chunk, caller: Caller, deps: Deps) -> ChunkResult:
    """One transaction: new and changed items, their events, and rule 7 for actions they close."""
    tenant = caller.tenant_id

    async def work(tx: Tx) -> ChunkResult:
        result = ChunkResult()
        now = deps.clock.now()
        changes = Changes(tenant_id=tenant, actor=caller.actor, now=now)
        clients = await tx.clients.many(tenant, [row.client_id for _, row in rows])
        existing = await tx.items.by_ids(tenant, [row.key for _, row in rows])
        changes.track(existing.values())
        upserted: dict[str, list[ItemSnapshot]] = defaultdict(list)
        closed: dict[str, list[ItemSnapshot]] = defaultdict(list)
        for number, row in rows:
            old = existing.get(row.key)
            if row.client_id not in clients:
                result.reject(number, row.key, f"unknown client {row.client_id!r}: import the client first")
            elif old is not None and old.client_id != row.client_id:
                result.reject(number, row.key, f"item {row.key} belongs to client {old.client_id}: "
                                               "an item cannot move to another client")
            else:
                snapshot, kind = merge_erp_update(old, row, now=now)
                result.counts[kind.value] += 1
                result.outcomes[row.key] = (snapshot or old, kind)
                if snapshot is not None:
                    changes.put(snapshot, new=old is None)
                    (closed if kind == ErpChange.CLOSED else upserted)[snapshot.client_id].append(snapshot)
        for client_id, items in upserted.items():
            await tx.events.items_upserted(client_id, items)
        for client_id, items in closed.items():
            await tx.events.items_closed(client_id, items)
        await delete_actions_all_closed(changes, [i for items in closed.values() for i in items], tx=tx)
        await changes.save(tx)
        return result

    return await deps.uow.run(work, flow=Flow(tenant, caller.correlation_id))


async def delete_actions_all_closed(changes: Changes, closed: list[ItemSnapshot], *, tx: Tx) -> None:
    """Rule 7: a specific action whose items are all closed is deleted, by the system, in the client's history."""
    holders = {item.held_by_action_id: item.client_id for item in closed if item.held_by_action_id}
    if not holders:
        return
    actions = await tx.actions.many(changes.tenant_id, list(holders))
    for action in actions.values():
        if not action.is_open:
            continue
        held = await tx.items.held_by(changes.tenant_id, action.client_id, action.action_id)
        changes.track(held)
        current = changes.current(item.item_id for item in held)
        if current and all(item.closed for item in current):
            deletion = act.delete(action, reason="all its items are closed", actor=SYSTEM, now=changes.now,
                                  automatic=True)
            changes.end_action(deletion, current, ReattachReason.ITEM_CLOSED)


async def write_clients(rows: Chunk, caller: Caller, deps: Deps) -> ChunkResult:
    tenant = caller.tenant_id

    async def work(tx: Tx) -> ChunkResult:
        result = ChunkResult()
        now = deps.clock.now()
        existing = await tx.clients.many(tenant, [row.key for _, row in rows])
        people = {p for _, row in rows for p in (row.collector_id, row.sales_manager_id) if p}
        users = await user_refs(tenant, people, tx=tx)
        saved: list[Client] = []
        for number, row in rows:
            unknown = [f"unknown {role} {user_id!r}: it must be an active user"
                       for role, user_id in (("collector", row.collector_id), ("sales manager", row.sales_manager_id))
                       if user_id and user_id not in users]
            if unknown:
                result.rejected.append(Rejection(row=number, key=row.key, errors=unknown))
                continue
            old = existing.get(row.key)
            client = merge_client(old, row, now=now)
            kind = ErpChange.UNCHANGED if client is None else ErpChange.UPDATED if old else ErpChange.CREATED
            result.counts[kind.value] += 1
            result.outcomes[row.key] = (client or old, kind)
            if client is not None:
                saved.append(client)
                await tx.events.client_upserted(client.upserted_event(
                    collector=users.get(client.collector_id or ""),
                    sales_manager=users.get(client.sales_manager_id or "")))
        created = {client.client_id for client in saved if client.client_id not in existing}
        await tx.clients.save_all(tenant, saved, created=created)
        return result

    return await deps.uow.run(work, flow=Flow(tenant, caller.correlation_id))
