"""Who acts, as every service's rules see it: a user of one tenant with one role (the token's claims,
verified by `shared.platform.auth`), and ids that sort in the order they were made."""

import itertools
import os
import time
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    COLLECTOR = "collector"
    CREDIT_MANAGER = "credit_manager"
    ADMIN = "admin"


class Principal(BaseModel):
    """Who is calling: a user of one tenant, with one role."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    user_id: str
    role: Role
    email: str | None = None
    name: str | None = None


_PROCESS = os.urandom(5)
_COUNTER = itertools.count(int.from_bytes(os.urandom(3), "big"))


def ordered_id() -> str:
    """24 hex digits growing with time and, within a process, with every id made (a MongoDB ObjectId's
    layout: seconds, a per-process random part, a counter), so ids made by one command keep their order."""
    counter = next(_COUNTER) % 0x1000000
    return (int(time.time()).to_bytes(4, "big") + _PROCESS + counter.to_bytes(3, "big")).hex()
