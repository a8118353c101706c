"""Topic names, fixed in one place.

Every stream is one topic; its name is `<prefix>arf.<stream>`. The prefix (empty in production)
lets tests and shared clusters keep environments apart. A dead-letter topic is `<topic>.dlq`.
"""

from enum import StrEnum


class Stream(StrEnum):
    """The event streams of DESIGN.md, one topic each."""

    CLIENTS = "clients"
    ITEMS = "items"
    ITEM_STATUSES = "item-statuses"
    STATUS_DEFINITIONS = "status-definitions"
    ITEM_HOLDS = "item-holds"
    ACTIONS = "actions"
    DUNNING = "dunning"
    EMAIL_REQUESTS = "email-requests"
    EMAIL_DELIVERIES = "email-deliveries"
    REPLIES = "replies"


DLQ_SUFFIX = ".dlq"


class Topics:
    """Resolves stream names to topic names under one prefix."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def __call__(self, stream: Stream) -> str:
        return f"{self.prefix}arf.{stream.value}"

    def dead_letter(self, stream: Stream) -> str:
        return self(stream) + DLQ_SUFFIX

    def all(self) -> list[str]:
        return [self(stream) for stream in Stream]

    def all_with_dead_letters(self) -> list[str]:
        return self.all() + [self.dead_letter(stream) for stream in Stream]
