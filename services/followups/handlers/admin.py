"""Admin commands: a tenant's first-request setup (default statuses), settings, users, statuses, templates."""

import logging

from shared.ports import Flow
from services.followups.domain.errors import Conflict, Invalid, NotFound
from services.followups.domain.parties import TenantSettings, User, UserInput
from services.followups.domain.statuses import DEFAULT_STATUSES, ItemStatus, StatusDefinition
from services.followups.domain.templates import ActionTemplate, TemplateInput, template_from
from services.followups.handlers.context import Caller, Deps, new_id
from services.followups.ports import AlreadyRecorded, Tx

log = logging.getLogger(__name__)


async def ensure_tenant(tenant_id: str, *, deps: Deps) -> bool:
    """Install the default statuses (and publish them) the first time a tenant calls; True if it did now."""
    if await deps.read.tenants.is_set_up(tenant_id):
        return False

    async def work(tx: Tx) -> None:
        await tx.tenants.mark_set_up(tenant_id, at=deps.clock.now())
        await tx.statuses.save(tenant_id, DEFAULT_STATUSES)
        for status in DEFAULT_STATUSES:
            await tx.events.status_defined(status)

    try:
        await deps.uow.run(work, flow=Flow(tenant_id, None))
    except AlreadyRecorded:
        return False  # a concurrent first request of the same tenant did it
    log.info("tenant %s set up with %d default statuses", tenant_id, len(DEFAULT_STATUSES))
    return True


async def save_settings(settings: TenantSettings, *, caller: Caller, deps: Deps) -> TenantSettings:
    await deps.read.tenants.save_settings(caller.tenant_id, settings)
    return settings


async def save_user(user_id: str, body: UserInput, *, caller: Caller, deps: Deps) -> User:
    user = User(user_id=user_id, **body.model_dump())
    await deps.read.users.save(caller.tenant_id, user)
    return user


async def define_status(code: str, body: StatusDefinition, *, create: bool, caller: Caller, deps: Deps
                        ) -> ItemStatus:
    """Create or replace a status; every change publishes its definition with a new version."""
    tenant = caller.tenant_id

    async def work(tx: Tx) -> ItemStatus:
        existing = await tx.statuses.get(tenant, code)
        if create and existing is not None:
            raise Conflict(f"status {code!r} already exists: change it with PUT", code="status_exists")
        if not create and existing is None:
            raise NotFound("status", code)
        if body.default_owner_id and not await tx.users.active(tenant, [body.default_owner_id]):
            raise Invalid(f"unknown default owner {body.default_owner_id!r}: it must be an active user",
                          code="unknown_owner")
        status = ItemStatus(code=code, version=existing.version + 1 if existing else 1, **body.model_dump())
        if existing is not None and existing.model_dump(exclude={"version"}) == status.model_dump(exclude={"version"}):
            return existing
        await tx.statuses.save(tenant, [status])
        await tx.events.status_defined(status)
        return status

    return await deps.uow.run(work, flow=Flow(tenant, caller.correlation_id))


async def save_template(template_id: str | None, body: TemplateInput, *, caller: Caller, deps: Deps
                        ) -> ActionTemplate:
    """Checked against the hashtag catalogue and the sandbox before it is stored (unknown hashtag: 422)."""
    tenant = caller.tenant_id
    existing = await deps.read.templates.get(tenant, template_id) if template_id else None
    if template_id and existing is None:
        raise NotFound("template", template_id)
    template = template_from(template_id or new_id(), body, version=existing.version + 1 if existing else 1,
                             now=deps.clock.now())
    await deps.read.templates.save(tenant, template)
    return template


async def delete_template(template_id: str, *, caller: Caller, deps: Deps) -> None:
    """Actions made from it keep their copy of the text."""
    if not await deps.read.templates.delete(caller.tenant_id, template_id):
        raise NotFound("template", template_id)
