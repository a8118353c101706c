"""Errors a command can end with; each builds its own message and carries the details a caller needs.

The API maps the classes to status codes (404, 409, 413, 415, 422); the domain knows nothing of HTTP.
"""

from collections.abc import Iterable
from typing import Any, ClassVar


class FollowupsError(Exception):
    """Base: a message for a human and details for a program."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(FollowupsError):
    code = "not_found"

    def __init__(self, what: str, key: str) -> None:
        super().__init__(f"unknown {what} {key!r}", what=what, key=key)


class Invalid(FollowupsError):
    """The request is well-formed but breaks a rule (unknown reference, past date, closed item…)."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        if code:
            self.code = code  # type: ignore[misc]


class Conflict(FollowupsError):
    """The request clashes with the current state (an item already held, an action already closed)."""

    code = "conflict"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        if code:
            self.code = code  # type: ignore[misc]


class TooLarge(FollowupsError):
    code = "too_large"

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what} is larger than the limit of {limit} bytes", limit=limit)


class Unavailable(FollowupsError):
    """The service is not set up for this (a missing setting): not the caller's fault."""

    code = "unavailable"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code  # type: ignore[misc]


class Unreachable(FollowupsError):
    """Something this service fetches (a reply's attachment) could not be read."""

    code = "unreachable"


class UnsupportedType(FollowupsError):
    code = "unsupported_type"

    def __init__(self, message: str, allowed: Iterable[str]) -> None:
        super().__init__(message, allowed=sorted(allowed))


def listed(ids: Iterable[str], limit: int = 5) -> str:
    """`a, b, c and 7 more`: names a few ids in a message without flooding it."""
    ids = list(ids)
    shown = ", ".join(ids[:limit])
    return shown if len(ids) <= limit else f"{shown} and {len(ids) - limit} more"


class ItemsRejected(Invalid):
    """Some selected items cannot be used: unknown (or another tenant's), another client's, or closed."""

    def __init__(self, *, unknown: list[str], other_client: list[str], closed: list[str]) -> None:
        parts = []
        if unknown:
            parts.append(f"unknown items: {listed(unknown)}")
        if other_client:
            parts.append(f"items of another client: {listed(other_client)}")
        if closed:
            parts.append(f"closed items (open amount 0): {listed(closed)}")
        super().__init__("; ".join(parts), code="items_rejected", unknown=unknown, other_client=other_client,
                         closed=closed)


class ItemsAlreadyHeld(Conflict):
    """An item is held by at most one open specific action at a time."""

    def __init__(self, *, action_id: str, action_name: str, action_type: str, item_ids: list[str]) -> None:
        super().__init__(
            f"{len(item_ids)} item(s) already held by the open {action_type.replace('_', '-')} "
            f"{action_name!r} ({action_id}): {listed(item_ids)}; remove them from it first",
            code="item_held", holding_action_id=action_id, holding_action_name=action_name, item_ids=item_ids,
        )


class ActionNotOpen(Conflict):
    def __init__(self, action_id: str, state: str) -> None:
        super().__init__(f"action {action_id} is {state}: it can no longer be changed", code="action_not_open",
                         action_id=action_id, state=state)
