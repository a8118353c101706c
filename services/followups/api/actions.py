"""Specific actions and follow-ups: create, list (per client, owner, date), read, and every operation."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts.email import EmailPurpose
from shared.contracts.values import ActionState, ActionType, Identifier, ItemSnapshot
from services.followups.api.deps import Collector, Limit, Reader, Service, Skip
from services.followups.domain.actions import Action, ActionName
from services.followups.domain.drafts import ContentInput
from services.followups.domain.emails import EmailDraft
from services.followups.domain.history import HistoryEntry
from services.followups.domain.wizard import Comment
from services.followups.handlers import actions as commands
from services.followups.handlers.actions import NewAction
from services.followups.handlers.context import action_for

router = APIRouter(prefix="/actions", tags=["actions"])
ItemIds = Annotated[list[Identifier], Field(min_length=1, max_length=50_000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rename(Body):
    name: ActionName


class Reschedule(Body):
    scheduled_for: date


class Reassign(Body):
    owner_id: Identifier


class Content(Body):
    content: ContentInput | None = None
    automatic: bool = False
    to_be_confirmed: bool = False


class Items(Body):
    item_ids: ItemIds


class StatusOfItems(Body):
    status_code: str | None = None
    comment: Comment | None = None
    item_ids: list[Identifier] | None = Field(None, description="Default: all the action's open items")

    @model_validator(mode="after")
    def _something(self) -> "StatusOfItems":
        if self.status_code is None and self.comment is None:
            raise ValueError("give a status_code, a comment, or both")
        return self


class NewComment(Body):
    text: Comment


class Email(EmailDraft):
    purpose: Literal["client", "internal_interactive"] = "client"


class Close(Body):
    resolution_note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)] | None = None


@router.post("", status_code=status.HTTP_201_CREATED,
             summary="Create a specific action or follow-up (client page: with items; agenda: items optional)")
async def create(body: NewAction, caller: Collector, deps: Service) -> Action:
    return await commands.create_action(body, caller=caller, deps=deps)


@router.get("", summary="Actions in date order: per client, per owner, per date range, by state or type")
async def search(caller: Reader, deps: Service, client_id: str | None = None, owner_id: str | None = None,
                 state: ActionState | None = None, type: ActionType | None = None,
                 date_from: Annotated[date | None, Query(alias="from")] = None,
                 date_to: Annotated[date | None, Query(alias="to")] = None,
                 skip: Skip = 0, limit: Limit = 100) -> list[dict[str, Any]]:
    return await deps.read.actions.search(caller.tenant_id, client_id=client_id, owner_id=owner_id,
                                           state=state.value if state else None,
                                           action_type=type.value if type else None, date_from=date_from,
                                           date_to=date_to, skip=skip, limit=limit)


@router.get("/{action_id}", summary="One action, with its item ids and content")
async def read(action_id: str, caller: Reader, deps: Service) -> Action:
    return await action_for(caller.tenant_id, action_id, tx=deps.read)


@router.get("/{action_id}/items", summary="The action's items, as they stand")
async def items(action_id: str, caller: Reader, deps: Service) -> list[ItemSnapshot]:
    action = await action_for(caller.tenant_id, action_id, tx=deps.read)
    found = await deps.read.items.select(caller.tenant_id, action.client_id, action.item_ids)
    return [found[item_id] for item_id in action.item_ids if item_id in found]


@router.get("/{action_id}/history", summary="Every change: who, when, before and after")
async def history(action_id: str, caller: Reader, deps: Service, skip: Skip = 0, limit: Limit = 500
                  ) -> list[HistoryEntry]:
    await action_for(caller.tenant_id, action_id, tx=deps.read)
    return await deps.read.history.of_action(caller.tenant_id, action_id, skip=skip, limit=limit)


@router.get("/{action_id}/emails", summary="Emails requested from the action, with delivery outcome")
async def emails(action_id: str, caller: Reader, deps: Service) -> list[dict[str, Any]]:
    await action_for(caller.tenant_id, action_id, tx=deps.read)
    return await deps.read.emails.of_action(caller.tenant_id, action_id)


@router.put("/{action_id}/name", summary="Rename")
async def rename(action_id: str, body: Rename, caller: Collector, deps: Service) -> Action:
    return await commands.operate(action_id, commands.rename(body.name), caller=caller, deps=deps)


@router.put("/{action_id}/schedule", summary="Reschedule (not into the past)")
async def reschedule(action_id: str, body: Reschedule, caller: Collector, deps: Service) -> Action:
    operation = commands.reschedule(body.scheduled_for, deps=deps)
    return await commands.operate(action_id, operation, caller=caller, deps=deps)


@router.put("/{action_id}/owner", summary="Change the owner (resolution owner)")
async def reassign(action_id: str, body: Reassign, caller: Collector, deps: Service) -> Action:
    operation = commands.reassign(body.owner_id, caller=caller, deps=deps)
    return await commands.operate(action_id, operation, caller=caller, deps=deps)


@router.put("/{action_id}/content", summary="Change what the action sends, and whether it runs automatically")
async def set_content(action_id: str, body: Content, caller: Collector, deps: Service) -> Action:
    operation = commands.set_content(body.content, automatic=body.automatic, to_be_confirmed=body.to_be_confirmed)
    return await commands.operate(action_id, operation, caller=caller, deps=deps)


@router.post("/{action_id}/confirm", summary="Confirm an action that waits for a confirmation")
async def confirm(action_id: str, caller: Collector, deps: Service) -> Action:
    return await commands.operate(action_id, commands.confirm(), caller=caller, deps=deps)


@router.post("/{action_id}/items", summary="Add items (409 if another open action holds one)")
async def add_items(action_id: str, body: Items, caller: Collector, deps: Service) -> Action:
    operation = commands.add_items(body.item_ids, caller=caller, deps=deps)
    return await commands.operate(action_id, operation, caller=caller, deps=deps)


@router.post("/{action_id}/items/remove", summary="Remove items: they re-enter the dunning scenario (rule 4)")
async def remove_items(action_id: str, body: Items, caller: Collector, deps: Service) -> Action:
    operation = commands.remove_items(body.item_ids, caller=caller, deps=deps)
    return await commands.operate(action_id, operation, caller=caller, deps=deps)


@router.post("/{action_id}/item-status", summary="Update the status of its items (resolved: they leave it)")
async def item_status(action_id: str, body: StatusOfItems, caller: Collector, deps: Service) -> Action:
    operation = commands.update_item_status(body.status_code, body.comment, body.item_ids, caller=caller, deps=deps)
    return await commands.operate(action_id, operation, caller=caller, deps=deps)


@router.post("/{action_id}/comments", status_code=status.HTTP_201_CREATED, summary="Add a comment")
async def add_comment(action_id: str, body: NewComment, caller: Collector, deps: Service) -> Action:
    return await commands.operate(action_id, commands.comment(body.text), caller=caller, deps=deps)


@router.post("/{action_id}/emails", status_code=status.HTTP_202_ACCEPTED,
             summary="Send an email to the client or an internal interactive email to colleagues")
async def send_email(action_id: str, body: Email, caller: Collector, deps: Service) -> dict[str, Any]:
    request_ids: list[str] = []
    draft = EmailDraft(**body.model_dump(exclude={"purpose"}))
    operation = commands.send_email(draft, EmailPurpose(body.purpose), caller=caller, deps=deps,
                                    request_ids=request_ids)
    await commands.operate(action_id, operation, caller=caller, deps=deps)
    return {"request_id": request_ids[0], "request_ids": request_ids}


@router.post("/{action_id}/close", summary="Close (a follow-up needs a resolution note); releases its items")
async def close(action_id: str, body: Close, caller: Collector, deps: Service) -> Action:
    operation = commands.close(body.resolution_note, caller=caller, deps=deps)
    return await commands.operate(action_id, operation, caller=caller, deps=deps)


@router.delete("/{action_id}", summary="Delete an open action; releases its items")
async def delete(action_id: str, caller: Collector, deps: Service,
                 reason: Annotated[str | None, Query(max_length=500)] = None) -> Action:
    return await commands.operate(action_id, commands.delete(reason, caller=caller, deps=deps), caller=caller,
                                  deps=deps)
