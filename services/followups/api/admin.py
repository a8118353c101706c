"""Admin routes (settings, users, item statuses, action templates) and the lists every user reads."""

from typing import Any

from fastapi import APIRouter, Response, status

from shared.contracts.values import Identifier
from shared.templating import HASHTAGS
from services.followups.api.deps import Admin, Reader, Service
from services.followups.domain.errors import NotFound
from services.followups.domain.parties import TenantSettings, User, UserInput
from services.followups.domain.statuses import ItemStatus, StatusCode, StatusDefinition
from services.followups.domain.templates import ActionTemplate, TemplateInput
from services.followups.handlers import admin

router = APIRouter(tags=["admin"])


class NewStatus(StatusDefinition):
    code: StatusCode


@router.get("/settings", summary="The tenant's settings (company, default language, internal domains)")
async def get_settings(caller: Reader, deps: Service) -> TenantSettings:
    return await deps.read.tenants.settings(caller.tenant_id)


@router.put("/admin/settings", summary="Change the tenant's settings")
async def put_settings(body: TenantSettings, caller: Admin, deps: Service) -> TenantSettings:
    return await admin.save_settings(body, caller=caller, deps=deps)


@router.get("/users", summary="Users of the tenant (resolution owners are users)")
async def list_users(caller: Reader, deps: Service) -> list[User]:
    return await deps.read.users.all(caller.tenant_id)


@router.put("/admin/users/{user_id}", summary="Create or change a user (deactivate with active: false)")
async def put_user(user_id: Identifier, body: UserInput, caller: Admin, deps: Service) -> User:
    return await admin.save_user(user_id, body, caller=caller, deps=deps)


@router.get("/statuses", summary="Item statuses of the tenant (the defaults are installed on first use)")
async def list_statuses(caller: Reader, deps: Service) -> list[ItemStatus]:
    return await deps.read.statuses.all(caller.tenant_id)


@router.post("/admin/statuses", status_code=status.HTTP_201_CREATED, summary="Create an item status")
async def create_status(body: NewStatus, caller: Admin, deps: Service) -> ItemStatus:
    definition = StatusDefinition(**body.model_dump(exclude={"code"}))
    return await admin.define_status(body.code, definition, create=True, caller=caller, deps=deps)


@router.put("/admin/statuses/{code}", summary="Change an item status (publishes its new definition)")
async def put_status(code: StatusCode, body: StatusDefinition, caller: Admin, deps: Service) -> ItemStatus:
    return await admin.define_status(code, body, create=False, caller=caller, deps=deps)


@router.get("/templates/hashtags", summary="The hashtags a template may use")
async def list_hashtags(caller: Reader) -> list[dict[str, Any]]:
    return [{"name": f"#{tag.name}", "description": tag.description, "example": tag.example,
             "internal_only": tag.internal_only} for tag in HASHTAGS]


@router.get("/templates", summary="Action templates")
async def list_templates(caller: Reader, deps: Service) -> list[ActionTemplate]:
    return await deps.read.templates.all(caller.tenant_id)


@router.get("/templates/{template_id}", summary="One action template")
async def get_template(template_id: str, caller: Reader, deps: Service) -> ActionTemplate:
    template = await deps.read.templates.get(caller.tenant_id, template_id)
    if template is None:
        raise NotFound("template", template_id)
    return template


@router.post("/admin/templates", status_code=status.HTTP_201_CREATED,
             summary="Create an action template (checked: unknown hashtags and sandbox escapes are refused)")
async def create_template(body: TemplateInput, caller: Admin, deps: Service) -> ActionTemplate:
    return await admin.save_template(None, body, caller=caller, deps=deps)


@router.put("/admin/templates/{template_id}", summary="Change an action template")
async def put_template(template_id: str, body: TemplateInput, caller: Admin, deps: Service) -> ActionTemplate:
    return await admin.save_template(template_id, body, caller=caller, deps=deps)


@router.delete("/admin/templates/{template_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete an action template (actions made from it keep their text)")
async def delete_template(template_id: str, caller: Admin, deps: Service) -> Response:
    await admin.delete_template(template_id, caller=caller, deps=deps)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
