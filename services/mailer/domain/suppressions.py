"""The tenant's suppression list: addresses no email goes to (hard bounces, unsubscribes, by hand).

Checked before every send. A hard bounce suppresses with scope `all`; an unsubscribe from automatic
reminders uses scope `automatic`, which stops only automatic emails (a collector can still write to
that person), and never narrows an entry of scope `all`. Pure: no I/O.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class SuppressionScope(StrEnum):
    ALL = "all"  # nothing is sent to this address (hard bounce, complaint, by hand)
    AUTOMATIC = "automatic"  # no automatic email (reminders, scheduled actions); personal emails still go


class SuppressionSource(StrEnum):
    BOUNCE = "bounce"
    UNSUBSCRIBE = "unsubscribe"
    ADMIN = "admin"


class Suppression(BaseModel):
    model_config = ConfigDict(frozen=True)

    email: str
    scope: SuppressionScope
    source: SuppressionSource
    reason: str
    send_id: str | None = None
    created_at: datetime
    created_by: str | None = None


def normalised(email: str) -> str:
    """Addresses are kept, and compared, trimmed and in lower case."""
    return email.strip().lower()


def new_entry(email: str, *, reason: str, source: SuppressionSource, at: datetime,
              scope: SuppressionScope = SuppressionScope.ALL, send_id: str | None = None,
              by: str | None = None) -> Suppression:
    """An entry of the list, as it is stored."""
    return Suppression(email=normalised(email), scope=scope, source=source, reason=reason[:500], send_id=send_id,
                       created_at=at, created_by=by)


def entry_to_keep(existing: Suppression | None, entry: Suppression) -> Suppression:
    """A new entry widens or refreshes the one on the list; an unsubscribe never narrows a hard bounce."""
    if existing is not None and existing.scope is SuppressionScope.ALL and entry.scope is SuppressionScope.AUTOMATIC:
        return existing
    return entry


def blocks(scope: SuppressionScope | None, *, automatic: bool) -> bool:
    """Whether an entry of `scope` keeps an email (automatic or not) from its address."""
    return scope is SuppressionScope.ALL or (scope is SuppressionScope.AUTOMATIC and automatic)
