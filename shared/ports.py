"""The ports every service's handlers see of the plumbing: a unit of work and what it publishes.

Pure Protocols and values: a handler module imports these (and its service's `ports.py`), never a
database or broker library. MongoDB implements them in `shared.platform.unit_of_work`; the unit tests'
in-memory ones are in `tests/support/memory.py`.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from shared.contracts.envelope import Envelope, EventPayload

T = TypeVar("T")
TxT = TypeVar("TxT", covariant=True)


@dataclass(frozen=True)
class Flow:
    """Who a unit of work writes for, and what caused it: carried onto every event it publishes."""

    tenant_id: str
    correlation_id: str | None = None
    causation_id: str | None = None

    @classmethod
    def caused_by(cls, envelope: Envelope) -> "Flow":
        """The flow of an event's consequences: same tenant and correlation, caused by that event."""
        return cls(envelope.tenant_id, envelope.correlation_id, envelope.id)


Keyed = tuple[EventPayload, str]  # a payload and its key (its client: one client's events stay in order)


class Duplicate(Exception):
    """Another writer created the same thing first (a unique key): nothing of the unit of work was written."""


class Outgoing(Protocol):
    """The events of one unit of work: published if, and only if, it commits."""

    async def stage(self, payload: EventPayload, *, key_id: str, subject: str | None = None) -> None: ...

    async def stage_all(self, events: Sequence[Keyed]) -> None:
        """Many events at once (the outbox writes them in a fixed number of round trips)."""
        ...


class UnitOfWork(Protocol[TxT]):
    """Runs `work` on the repositories of one transaction (retried whole on a transient conflict)."""

    async def run(self, work: Callable[[TxT], Awaitable[T]], *, flow: Flow) -> T: ...

    def reading(self) -> TxT:
        """The repositories outside any transaction, for a read that needs no snapshot."""
        ...
