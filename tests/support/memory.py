"""The in-memory unit of work the unit tests give handlers: all or nothing like a transaction, events
kept in a list in the order they were published. A service's fakes hold their state in one object."""

import copy
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from shared.contracts.envelope import EventPayload
from shared.platform.consumer import EventContext
from shared.ports import Flow, Keyed

T = TypeVar("T")
TxT = TypeVar("TxT")
StateT = TypeVar("StateT")


@dataclass(frozen=True)
class Published:
    payload: EventPayload
    key_id: str
    flow: Flow
    subject: str | None = None


@dataclass
class MemoryOutgoing:
    flow: Flow | None
    staged: list[Published] = field(default_factory=list)

    async def stage(self, payload: EventPayload, *, key_id: str, subject: str | None = None) -> None:
        if self.flow is None:
            raise RuntimeError("events are published only from inside a unit of work")
        self.staged.append(Published(payload, key_id, self.flow, subject))

    async def stage_all(self, events: Sequence[Keyed]) -> None:
        for payload, key_id in events:
            await self.stage(payload, key_id=key_id)


class MemoryUnitOfWork(Generic[StateT, TxT]):
    """`bind(state, outgoing)` builds the service's transaction object over the fakes' shared state; a
    unit of work that raises leaves the state as it was and publishes nothing."""

    def __init__(self, state: StateT, bind: Callable[[StateT, MemoryOutgoing], TxT]) -> None:
        self.state, self._bind = state, bind
        self.published: list[Published] = []
        self.runs = 0

    async def run(self, work: Callable[[TxT], Awaitable[T]], *, flow: Flow) -> T:
        self.runs += 1
        saved = copy.deepcopy(self.state.__dict__)
        outgoing = MemoryOutgoing(flow)
        try:
            result = await work(self._bind(self.state, outgoing))
        except BaseException:
            self.state.__dict__.clear()
            self.state.__dict__.update(saved)
            raise
        self.published.extend(outgoing.staged)
        return result

    def joined(self, ctx: EventContext) -> TxT:
        """An event handler's unit of work, as the consumer's transaction gives it (events kept as published)."""
        return self._bind(self.state, MemoryOutgoing(Flow.caused_by(ctx.envelope), self.published))

    def reading(self) -> TxT:
        return self._bind(self.state, MemoryOutgoing(None))

    def events(self, kind: type[EventPayload] | None = None) -> list[EventPayload]:
        return [p.payload for p in self.published if kind is None or isinstance(p.payload, kind)]
