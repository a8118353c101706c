"""The tenant's suppression list: addresses no email goes to."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from services.mailer.api.deps import AnyUser, Manager, deps
from services.mailer.domain.suppressions import Suppression, SuppressionScope
from services.mailer.handlers.suppressions import add_suppression as add_entry
from services.mailer.handlers.suppressions import list_suppressions as entries
from services.mailer.handlers.suppressions import remove_suppression as remove_entry
from shared.contracts.values import EmailAddress

router = APIRouter()


class SuppressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailAddress
    reason: str = Field(min_length=1, max_length=500)
    scope: SuppressionScope = SuppressionScope.ALL


@router.get("/suppressions", tags=["suppressions"], summary="Addresses no email goes to")
async def list_suppressions(principal: AnyUser, request: Request, after: str | None = None,
                            limit: int = Query(100, ge=1, le=1000)) -> list[Suppression]:
    return await entries(deps(request).uow, principal.tenant_id, limit=limit, after=after)


@router.post("/suppressions", tags=["suppressions"], status_code=status.HTTP_201_CREATED,
             summary="Stop sending to an address (all emails, or automatic ones only)")
async def add_suppression(body: SuppressionIn, principal: Manager, request: Request) -> Suppression:
    api = deps(request)
    return await add_entry(api.uow, principal.tenant_id, body.email, reason=body.reason, scope=body.scope,
                           at=api.clock.now(), by=principal.email or principal.user_id)


@router.delete("/suppressions/{email}", tags=["suppressions"], status_code=status.HTTP_204_NO_CONTENT,
               summary="Send to an address again")
async def remove_suppression(email: Annotated[str, Path(max_length=254)], principal: Manager,
                             request: Request) -> None:
    if not await remove_entry(deps(request).uow, principal.tenant_id, email):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{email} is not on the suppression list")
