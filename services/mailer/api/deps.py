"""What the mailer's routes share: the roles they admit and the ports they call handlers with."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Request

from services.mailer.ports import MailerTx
from shared.platform.auth import Principal, Role, require_role
from shared.platform.clock import Clock
from shared.ports import UnitOfWork

AnyUser = Annotated[Principal, require_role(Role.COLLECTOR, Role.CREDIT_MANAGER)]
Manager = Annotated[Principal, require_role(Role.CREDIT_MANAGER)]
Admin = Annotated[Principal, require_role(Role.ADMIN)]


@dataclass(frozen=True)
class ApiDeps:
    """The unit of work, the clock, and how to wake the sender."""

    uow: UnitOfWork[MailerTx]
    clock: Clock
    wake_sender: Callable[[str], None]  # a send is due now: the sender claims it by id


def deps(request: Request) -> ApiDeps:
    """The ports `app.py` put on the app."""
    return request.app.state.mailer
