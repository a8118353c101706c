"""HTTP API of the mailer: the hashtag list, template check and preview, the send ledger (what
happened to each email, resending an unknown one), and the tenant's suppression list.

The tenant always comes from the verified token; every query filters by it.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from services.mailer.adapters.ledger import SendLedger
from services.mailer.adapters.suppressions import Suppression, Suppressions, SuppressionScope, SuppressionSource
from services.mailer.domain import Failure, HistoryEntry, Send, SendState
from services.mailer.preview import preview
from shared.contracts.email import EmailPurpose, RenderContext
from shared.contracts.values import EmailAddress, LanguageCode, TemplateVariant
from shared.platform.auth import Principal, Role, require_role
from shared.platform.clock import Clock
from shared.templating import HASHTAGS, TemplateProblem, TemplateRejected, check_template

router = APIRouter()

AnyUser = Annotated[Principal, require_role(Role.COLLECTOR, Role.CREDIT_MANAGER)]
Manager = Annotated[Principal, require_role(Role.CREDIT_MANAGER)]
Admin = Annotated[Principal, require_role(Role.ADMIN)]


@dataclass(frozen=True)
class ApiDeps:
    ledger: SendLedger
    suppressions: Suppressions
    clock: Clock


def deps(request: Request) -> ApiDeps:
    return request.app.state.mailer


# -- hashtags and templates ------------------------------------------------------------------------

class HashtagOut(BaseModel):
    name: str
    tag: str = Field(description="What to write in a template")
    description: str
    example: str
    internal_only: bool = Field(description="Only in internal interactive emails, never to a client")


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variants: dict[LanguageCode, TemplateVariant] = Field(min_length=1)
    purpose: EmailPurpose = EmailPurpose.CLIENT


class ProblemOut(BaseModel):
    field: str
    message: str


class CheckOut(BaseModel):
    valid: bool
    problems: list[ProblemOut]


class PreviewIn(TemplateIn):
    language: LanguageCode = Field(description="The client's language")
    default_language: LanguageCode = Field("en", description="The tenant's default language")
    context: RenderContext | None = Field(None, description="The case to render; a sample case when omitted")


class PreviewOut(BaseModel):
    language: str = Field(description="The variant used, after the fallback chain")
    subject: str
    text: str
    html: str


@router.get("/hashtags", tags=["templates"], summary="The hashtags a template may use, documented")
async def list_hashtags(principal: AnyUser) -> list[HashtagOut]:
    return [HashtagOut(name=tag.name, tag=f"#{tag.name}", description=tag.description, example=tag.example,
                       internal_only=tag.internal_only) for tag in HASHTAGS]


@router.post("/templates/check", tags=["templates"], summary="Every problem that keeps a template from being saved")
async def check(body: TemplateIn, principal: AnyUser) -> CheckOut:
    problems = _problems(body)
    return CheckOut(valid=not problems, problems=[ProblemOut(field=p.field, message=p.message) for p in problems])


@router.post("/templates/preview", tags=["templates"], summary="Render a template as the client would receive it",
             responses={422: {"description": "The template cannot be rendered; `detail.problems` lists why"}})
async def preview_template(body: PreviewIn, principal: Admin, request: Request) -> PreviewOut:
    problems = _problems(body)
    try:
        if problems:
            raise TemplateRejected(problems)
        rendered = preview(body.variants, language=body.language, default_language=body.default_language,
                           purpose=body.purpose, context=body.context, today=deps(request).clock.today())
    except TemplateRejected as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail={
            "message": f"the template cannot be used: {exc}",
            "problems": [{"field": p.field, "message": p.message} for p in exc.problems],
        }) from None
    return PreviewOut(language=rendered.language, subject=rendered.subject, text=rendered.text, html=rendered.html)


def _problems(body: TemplateIn) -> list[TemplateProblem]:
    internal = body.purpose is EmailPurpose.INTERNAL_INTERACTIVE
    problems: list[TemplateProblem] = []
    for language, variant in sorted(body.variants.items()):
        problems += check_template(variant.subject, field=f"variants.{language}.subject", allow_internal=internal)
        problems += check_template(variant.body, field=f"variants.{language}.body", allow_internal=internal)
    return problems


# -- the send ledger -------------------------------------------------------------------------------

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
    filters: dict[str, Any] = {
        name: value for name, value in
        (("request_id", request_id), ("action_id", action_id), ("client_id", client_id)) if value
    }
    if state is not None:
        filters["state"] = state.value
    sends = await deps(request).ledger.find(principal.tenant_id, filters=filters, limit=limit)
    return [SendOut.of(send) for send in sends]


@router.get("/sends/{send_id}", tags=["sends"], summary="One send, with its history")
async def get_send(send_id: str, principal: AnyUser, request: Request) -> SendOut:
    send = await deps(request).ledger.get(principal.tenant_id, send_id)
    if send is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no send {send_id}")
    return SendOut.of(send)


@router.post("/sends/{send_id}/resend", tags=["sends"], status_code=status.HTTP_202_ACCEPTED,
             summary="Send an unknown or failed email again (the recipient may get it twice)")
async def resend(send_id: str, principal: AnyUser, request: Request) -> SendOut:
    api = deps(request)
    send = await api.ledger.get(principal.tenant_id, send_id)
    if send is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no send {send_id}")
    by = principal.email or principal.user_id
    if not await api.ledger.resend(principal.tenant_id, send_id, by=by, now=api.clock.now()):
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail=f"send {send_id} is {send.state.value}: only unknown or failed sends can be resent")
    request.app.state.sender.notify(send_id)
    updated = await api.ledger.get(principal.tenant_id, send_id)
    assert updated is not None
    return SendOut.of(updated)


# -- the suppression list --------------------------------------------------------------------------

class SuppressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailAddress
    reason: str = Field(min_length=1, max_length=500)
    scope: SuppressionScope = SuppressionScope.ALL


@router.get("/suppressions", tags=["suppressions"], summary="Addresses no email goes to")
async def list_suppressions(principal: AnyUser, request: Request, after: str | None = None,
                            limit: int = Query(100, ge=1, le=1000)) -> list[Suppression]:
    return await deps(request).suppressions.entries(principal.tenant_id, limit=limit, after=after)


@router.post("/suppressions", tags=["suppressions"], status_code=status.HTTP_201_CREATED,
             summary="Stop sending to an address (all emails, or automatic ones only)")
async def add_suppression(body: SuppressionIn, principal: Manager, request: Request) -> Suppression:
    api = deps(request)
    return await api.suppressions.add(principal.tenant_id, body.email, reason=body.reason, scope=body.scope,
                                      source=SuppressionSource.ADMIN, at=api.clock.now(),
                                      by=principal.email or principal.user_id)


@router.delete("/suppressions/{email}", tags=["suppressions"], status_code=status.HTTP_204_NO_CONTENT,
               summary="Send to an address again")
async def remove_suppression(email: Annotated[str, Path(max_length=254)], principal: Manager,
                             request: Request) -> None:
    if not await deps(request).suppressions.remove(principal.tenant_id, email):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{email} is not on the suppression list")
