"""Interactive links seen from the API: the links issued on an action, and revoking them (one link, or every
link of a colleague's address)."""

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.contracts.values import EmailAddress
from services.followups.api.deps import Admin, Collector, Reader, Service
from services.followups.handlers import links
from services.followups.handlers.context import action_for

router = APIRouter(tags=["interactive links"])
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Revoke(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class RevokeRecipient(Revoke):
    recipient: EmailAddress


@router.get("/actions/{action_id}/links", summary="Links issued on the action (who, what they allow, until when)")
async def of_action(action_id: str, caller: Reader, deps: Service) -> list[dict[str, Any]]:
    await action_for(caller.tenant_id, action_id, tx=deps.read)
    return await links.links_of_action(action_id, caller=caller, deps=deps)


@router.post("/links/{link_id}/revoke", summary="Revoke one link: its page and its reply address stop working")
async def revoke(link_id: str, body: Revoke, caller: Collector, deps: Service) -> dict[str, Any]:
    return await links.revoke_link(link_id, reason=body.reason, caller=caller, deps=deps)


@router.post("/admin/links/revoke", summary="Revoke every link issued to an address (e.g. a colleague who left)")
async def revoke_recipient(body: RevokeRecipient, caller: Admin, deps: Service) -> dict[str, Any]:
    return await links.revoke_recipient(body.recipient, reason=body.reason, caller=caller, deps=deps)
