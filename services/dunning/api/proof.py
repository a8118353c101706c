"""Routes of the proof per client: what was recorded, and where each item stands and why."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.dunning.api.deps import Api
from services.dunning.handlers import proof
from shared.platform.auth import CurrentPrincipal

router = APIRouter()


@router.get("/clients/{client_id}/history", tags=["proof"],
            summary="Every step recorded for the client (sent, waiting, skipped with its reason), pauses and resumptions")
async def client_history(client_id: str, principal: CurrentPrincipal, deps: Api,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    return await proof.client_history(principal.tenant_id, client_id, limit=limit, uow=deps.uow)


@router.get("/clients/{client_id}/items", tags=["proof"],
            summary="Where each item of the client stands: next step, its date, and why it would not go")
async def client_items(client_id: str, principal: CurrentPrincipal, deps: Api) -> list[dict[str, Any]]:
    return await proof.client_items(principal.tenant_id, client_id, uow=deps.uow, clock=deps.clock)
