"""The send ledger: what happened to each email, and sending an unknown or failed one again.
The tenant always comes from the verified token; every read filters by it."""

from datetime import datetime

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from services.mailer.api.deps import AnyUser, deps
from services.mailer.domain.sends import Failure, HistoryEntry, NotResendable, Send, SendQuery, SendState, UnknownSend
from services.mailer.handlers.sends import get_send as find_send
from services.mailer.handlers.sends import list_sends as find_sends
from services.mailer.handlers.sends import resend as resend_send
from shared.contracts.email import EmailPurpose

router = APIRouter()


class SendOut(BaseModel):
    send_id: str
    request_id: str
    idempotency_key: str
    client_id: str
    action_id: str | None
    purpose: EmailPurpose
    automatic: bool
    state: SendState
    message_id: str
    recipients: list[str]
    delivered_to: list[str]
    missed: dict[str, str] = Field(description="Recipients of a sent email who did not get it, and why")
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    failure: Failure | None
    history: list[HistoryEntry]
    handled_by: str | None

    @classmethod
    def of(cls, send: Send) -> "SendOut":
        return cls.model_validate({**send.model_dump(), "delivered_to": send.delivered_to})


@router.get("/sends", tags=["sends"], summary="What happened to the emails of a request, an action or a client")
async def list_sends(
    principal: AnyUser,
    request: Request,
    request_id: str | None = None,
    action_id: str | None = None,
    client_id: str | None = None,
    state: SendState | None = Query(None, description="e.g. `unknown`: sends that may not have arrived"),
    limit: int = Query(50, ge=1, le=500),
) -> list[SendOut]:
    query = SendQuery(request_id=request_id or None, action_id=action_id or None, client_id=client_id or None,
                      state=state)
    sends = await find_sends(deps(request).uow, principal.tenant_id, query, limit=limit)
    return [SendOut.of(send) for send in sends]


@router.get("/sends/{send_id}", tags=["sends"], summary="One send, with its history")
async def get_send(send_id: str, principal: AnyUser, request: Request) -> SendOut:
    try:
        return SendOut.of(await find_send(deps(request).uow, principal.tenant_id, send_id))
    except UnknownSend:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no send {send_id}") from None


@router.post("/sends/{send_id}/resend", tags=["sends"], status_code=status.HTTP_202_ACCEPTED,
             summary="Send an unknown or failed email again (the recipient may get it twice)")
async def resend(send_id: str, principal: AnyUser, request: Request) -> SendOut:
    api = deps(request)
    try:
        updated = await resend_send(api.uow, principal.tenant_id, send_id, by=principal.email or principal.user_id,
                                    now=api.clock.now())
    except UnknownSend:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no send {send_id}") from None
    except NotResendable as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    api.wake_sender(send_id)
    return SendOut.of(updated)
