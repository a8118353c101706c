"""Route dependencies: the service's parts, and the verified caller (tenant from the token only).

A tenant's default statuses are installed on its first request (and published), whoever makes it.
"""

from typing import Annotated, Any

from fastapi import Depends, Query, Request

from shared.platform.auth import CurrentPrincipal, Principal, Role, require_role
from services.followups.handlers.admin import ensure_tenant
from services.followups.handlers.context import Caller, Deps


class TenantGate:
    """Remembers which tenants this process has seen set up, so the check costs one read per tenant."""

    def __init__(self) -> None:
        self.ready: set[str] = set()

    async def enter(self, tenant_id: str, deps: Deps) -> None:
        if tenant_id not in self.ready:
            await ensure_tenant(tenant_id, deps=deps)
            self.ready.add(tenant_id)


def deps_of(request: Request) -> Deps:
    return request.app.state.followups


async def _caller(request: Request, principal: Principal) -> Caller:
    deps = deps_of(request)
    await request.app.state.tenant_gate.enter(principal.tenant_id, deps)
    return Caller(tenant_id=principal.tenant_id, user_id=principal.user_id, email=principal.email,
                  name=principal.name, correlation_id=getattr(request.state, "correlation_id", None))


def _acting(*roles: Role) -> Any:
    if not roles:
        async def any_role(request: Request, principal: CurrentPrincipal) -> Caller:
            return await _caller(request, principal)
        return Depends(any_role)

    async def with_role(request: Request, principal: Principal = require_role(*roles)) -> Caller:
        return await _caller(request, principal)
    return Depends(with_role)


Service = Annotated[Deps, Depends(deps_of)]
Reader = Annotated[Caller, _acting()]
"""Any user of the tenant: reads."""
Collector = Annotated[Caller, _acting(Role.COLLECTOR, Role.CREDIT_MANAGER)]
"""Collectors and credit managers (and admins): the wizard and actions."""
Manager = Annotated[Caller, _acting(Role.CREDIT_MANAGER)]
"""Credit managers (and admins): receivables intake."""
Admin = Annotated[Caller, _acting(Role.ADMIN)]
"""Admins: settings, users, statuses, templates."""

Skip = Annotated[int, Query(ge=0, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=1000)]
