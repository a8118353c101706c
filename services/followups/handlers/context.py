"""What every command handler gets: who calls (tenant from the verified token), and the service's parts."""

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import uuid4

from pydantic import TypeAdapter, ValidationError

from shared.contracts.values import Actor, ActorKind, EmailAddress, UserRef
from shared.links import LinkKeys
from shared.platform.clock import Clock
from shared.ports import UnitOfWork
from services.followups.config import FollowupsSettings
from services.followups.domain.actions import Action
from services.followups.domain.errors import Invalid, NotFound, Unavailable
from services.followups.domain.parties import Client
from services.followups.domain.statuses import ItemStatus
from services.followups.ports import Adapters, Tx


@dataclass(frozen=True)
class Caller:
    """The verified caller: tenant and user from the bearer token (or, for a colleague acting from an
    interactive email, from the verified link), never from a URL or body."""

    tenant_id: str
    user_id: str
    email: str | None = None
    name: str | None = None
    correlation_id: str | None = None
    kind: ActorKind = ActorKind.USER

    @property
    def address(self) -> str | None:
        """The caller's email, if the token's claim is a usable address."""
        try:
            return _ADDRESS.validate_python(self.email) if self.email else None
        except ValidationError:
            return None

    @property
    def actor(self) -> Actor:
        if self.kind == ActorKind.COLLEAGUE:  # known by the address the link was issued to
            return Actor(kind=ActorKind.COLLEAGUE, email=self.address, name=self.name)
        return Actor(kind=self.kind, id=self.user_id, email=self.address, name=self.name)


_ADDRESS = TypeAdapter(EmailAddress)


@dataclass(frozen=True)
class Deps:
    """What every handler gets: the ports app.py built (or a test's fakes), the clock and the settings."""

    adapters: Adapters
    clock: Clock
    settings: FollowupsSettings
    link_keys: LinkKeys | None = None  # None when ARF_LINK_KEYS is unset: no interactive links then

    @property
    def uow(self) -> UnitOfWork[Tx]:
        return self.adapters.uow

    @property
    def read(self) -> Tx:
        """The repositories outside any transaction: reads, and writes that need none."""
        return self.adapters.uow.reading()


def link_keys_of(deps: Deps) -> LinkKeys:
    if deps.link_keys is None:
        raise Unavailable("interactive links are not configured on this service (ARF_LINK_KEYS)",
                          code="links_not_configured")
    return deps.link_keys


def new_id() -> str:
    return str(uuid4())


async def client_for(tenant_id: str, client_id: str, *, tx: Tx, referenced: bool = True) -> Client:
    """The client, or 422 when a body names an unknown one (404 when the URL does: `referenced=False`)."""
    client = await tx.clients.get(tenant_id, client_id)
    if client is None:
        if referenced:
            raise Invalid(f"unknown client {client_id!r}", code="unknown_client", client_id=client_id)
        raise NotFound("client", client_id)
    return client


async def action_for(tenant_id: str, action_id: str, *, tx: Tx, referenced: bool = False) -> Action:
    action = await tx.actions.get(tenant_id, action_id)
    if action is None:
        if referenced:
            raise Invalid(f"unknown action {action_id!r}", code="unknown_action", action_id=action_id)
        raise NotFound("action", action_id)
    return action


async def status_for(tenant_id: str, code: str, *, tx: Tx) -> ItemStatus:
    status = await tx.statuses.get(tenant_id, code)
    if status is None or not status.active:
        raise Invalid(f"unknown status {code!r}", code="unknown_status", status_code=code)
    return status


async def user_refs(tenant_id: str, user_ids: Iterable[str], *, tx: Tx) -> dict[str, UserRef]:
    users = await tx.users.active(tenant_id, list(user_ids))
    return {user_id: user.ref() for user_id, user in users.items()}
