"""A client's history: pauses, resumptions, exclusions and specific actions run, each with its reason.

An entry's id is derived from what caused it (an event, an action's run), so writing it again on a
redelivered or replayed event changes nothing.
"""

from datetime import datetime

from pydantic import BaseModel


class HistoryEntry(BaseModel):
    """One line of a client's history, beside its step records."""

    entry_id: str
    tenant_id: str
    client_id: str
    kind: str
    text: str
    item_ids: list[str] = []
    at: datetime
    event_id: str | None = None
    action_id: str | None = None
