"""Receivables routes: clients and items (single upserts, streamed bulk imports), their lists and histories."""

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request

from shared.contracts.values import Identifier, ItemSnapshot
from services.followups.api.parsing import Row, csv_rows, json_array_rows, limited, ndjson_rows
from services.followups.api.deps import Limit, Manager, Reader, Service, Skip
from services.followups.config import FollowupsSettings
from services.followups.domain.errors import NotFound, TooLarge, UnsupportedType
from services.followups.domain.history import HistoryEntry
from services.followups.domain.items import ItemInput
from services.followups.domain.parties import Client, ClientInput
from services.followups.handlers import intake
from services.followups.handlers.context import client_for
from services.followups.handlers.intake import ImportReport

router = APIRouter(tags=["receivables"])
IMPORT_TYPES = {"text/csv": csv_rows, "application/x-ndjson": ndjson_rows, "application/json": json_array_rows}
IMPORT_DOC = ("Body: UTF-8 CSV (header row; comma or semicolon), a JSON array of objects, or NDJSON, by "
              "Content-Type. Read as it streams, written in atomic chunks; the report accounts for every row. "
              "A body over the size limit is a 413; a body that cannot be read from its start (UTF-16, not "
              "UTF-8) or a CSV header with unknown or repeated columns is a 422, nothing written. A row whose "
              "text field starts with =, +, -, @ (a spreadsheet formula) or repeats a key is rejected.")


def _rows(request: Request, settings: FollowupsSettings) -> AsyncIterator[Row]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    reader = IMPORT_TYPES.get(content_type)
    if reader is None:
        raise UnsupportedType(f"cannot import {content_type or 'a body without Content-Type'}", IMPORT_TYPES)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.import_max_bytes:
        raise TooLarge("the import body", settings.import_max_bytes)  # refused before a byte is read
    body = limited(request.stream(), settings.import_max_bytes)
    return reader(body, max_row_bytes=settings.import_max_row_bytes)


@router.post("/imports/clients", summary="Import clients in bulk", description=IMPORT_DOC)
async def import_clients(request: Request, caller: Manager, deps: Service) -> ImportReport:
    return await intake.import_clients(_rows(request, deps.settings), caller=caller, deps=deps)


@router.post("/imports/items", summary="Import items in bulk (open amount 0 closes an item)", description=IMPORT_DOC)
async def import_items(request: Request, caller: Manager, deps: Service) -> ImportReport:
    return await intake.import_items(_rows(request, deps.settings), caller=caller, deps=deps)


@router.put("/clients/{client_id}", summary="Create or change one client")
async def put_client(client_id: Identifier, body: ClientInput, caller: Manager, deps: Service) -> dict[str, Any]:
    client, change = await intake.upsert_client(client_id, body, caller=caller, deps=deps)
    return {"change": change.value, "client": client.model_dump(mode="json")}


@router.put("/items/{item_id}", summary="Create or change one item (open amount 0 closes it)")
async def put_item(item_id: Identifier, body: ItemInput, caller: Manager, deps: Service) -> dict[str, Any]:
    item, change = await intake.upsert_item(item_id, body, caller=caller, deps=deps)
    return {"change": change.value, "item": item.model_dump(mode="json")}


@router.get("/clients", summary="Clients, by name")
async def list_clients(caller: Reader, deps: Service, collector_id: str | None = None, skip: Skip = 0,
                       limit: Limit = 100) -> list[Client]:
    return await deps.read.clients.page(caller.tenant_id, collector_id=collector_id, skip=skip, limit=limit)


@router.get("/clients/{client_id}", summary="One client")
async def get_client(client_id: str, caller: Reader, deps: Service) -> Client:
    return await client_for(caller.tenant_id, client_id, tx=deps.read, referenced=False)


@router.get("/clients/{client_id}/items", summary="A client's items, by due date")
async def list_items(client_id: str, caller: Reader, deps: Service, status_code: str | None = None,
                     open: bool | None = Query(None, description="true: open only; false: closed only"),
                     held: bool | None = Query(None, description="true: held by an action; false: in dunning"),
                     overdue: bool = False, skip: Skip = 0, limit: Limit = 500) -> list[ItemSnapshot]:
    await client_for(caller.tenant_id, client_id, tx=deps.read, referenced=False)
    return await deps.read.items.page(caller.tenant_id, client_id, status_code=status_code, open_only=open,
                                       held=held, overdue_on=deps.clock.today() if overdue else None, skip=skip,
                                       limit=limit)


@router.get("/clients/{client_id}/history", summary="The client's history (actions, qualifications, emails, dunning)")
async def client_history(client_id: str, caller: Reader, deps: Service, skip: Skip = 0, limit: Limit = 200
                         ) -> list[HistoryEntry]:
    await client_for(caller.tenant_id, client_id, tx=deps.read, referenced=False)
    return await deps.read.history.of_client(caller.tenant_id, client_id, skip=skip, limit=limit)


@router.get("/items/{item_id}", summary="One item")
async def get_item(item_id: str, caller: Reader, deps: Service) -> ItemSnapshot:
    found = await deps.read.items.by_ids(caller.tenant_id, [item_id])
    if item_id not in found:
        raise NotFound("item", item_id)
    return found[item_id]


@router.get("/items/{item_id}/history", summary="An item's statuses and comments over time")
async def item_history(item_id: str, caller: Reader, deps: Service) -> list[dict[str, Any]]:
    item = await get_item(item_id, caller, deps)
    return await deps.read.qualifications.of_item(caller.tenant_id, item.client_id, item_id)
