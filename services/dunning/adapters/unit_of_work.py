"""The dunning unit of work on MongoDB: the platform's, binding the dunning repositories and publisher to
each transaction, staging a call's events in one outbox write, and naming a duplicate key as the port does."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.dunning.adapters.actions import MongoActions
from services.dunning.adapters.clients import MongoClients
from services.dunning.adapters.items import MongoItems
from services.dunning.adapters.publisher import Keyed, OutboxPublisher
from services.dunning.adapters.records import MongoRecords
from services.dunning.adapters.scenarios import MongoScenarios
from services.dunning.ports import (
    ActionRepository,
    ClientRepository,
    DunningPublisher,
    Duplicate,
    ItemRepository,
    RecordRepository,
    ScenarioRepository,
    Tx,
)
from shared.platform.consumer import EventContext
from shared.platform.mongo import run_in_transaction
from shared.platform.outbox import Outbox
from shared.platform.unit_of_work import MongoOutgoing, MongoUnitOfWork
from shared.ports import Flow

T = TypeVar("T")


@dataclass(frozen=True)
class DunningTx:
    """The repositories and publisher of one unit of work (what `ports.Tx` describes)."""

    scenarios: ScenarioRepository
    clients: ClientRepository
    items: ItemRepository
    actions: ActionRepository
    records: RecordRepository
    publisher: DunningPublisher


class BatchOutgoing(MongoOutgoing):
    """The platform's outgoing events, plus `stage_all`: a scheduler batch stages hundreds of events, and
    the outbox numbers and writes them in three round trips however many (one `stage` each would be 3 x N)."""

    async def stage_all(self, events: Sequence[Keyed]) -> None:
        if self._session is None or self._flow is None:
            raise RuntimeError("events are published only from inside a unit of work")
        flow = self._flow
        await self._outbox.stage(self._session, [
            self._outbox.envelope(payload, tenant_id=flow.tenant_id, key_id=key_id,
                                  correlation_id=flow.correlation_id, causation_id=flow.causation_id)
            for payload, key_id in events])


def binder(db: AsyncDatabase[Any]) -> Callable[[AsyncClientSession | None, MongoOutgoing], Tx]:
    """`bind(session, outgoing)` for the platform's unit of work: the dunning repositories on `session`."""

    def bind(session: AsyncClientSession | None, outgoing: MongoOutgoing) -> Tx:
        assert isinstance(outgoing, BatchOutgoing)
        return DunningTx(scenarios=MongoScenarios(db, session), clients=MongoClients(db, session),
                         items=MongoItems(db, session), actions=MongoActions(db, session),
                         records=MongoRecords(db, session), publisher=OutboxPublisher(outgoing))

    return bind


class DunningMongoUnitOfWork(MongoUnitOfWork[Tx]):
    """The platform's unit of work with `BatchOutgoing`; a duplicate key (two writers racing to create one
    document) comes out as the port's `Duplicate`, so handlers never see a driver error."""

    def __init__(self, *, client: AsyncMongoClient[Any], outbox: Outbox, db: AsyncDatabase[Any]) -> None:
        super().__init__(client=client, outbox=outbox, bind=binder(db))
        # Outside a transaction the repositories hold nothing per call: one set serves every read.
        self._reading = self._bind(None, BatchOutgoing(outbox, None, None))

    async def run(self, work: Callable[[Tx], Awaitable[T]], *, flow: Flow) -> T:
        async def attempt(session: AsyncClientSession) -> T:
            return await work(self._bind(session, BatchOutgoing(self._outbox, session, flow)))

        try:
            result = await run_in_transaction(self._client, attempt)
        except DuplicateKeyError as exc:
            raise Duplicate(str(exc)) from exc
        self._outbox.notify_committed()  # wakes the relay now rather than at its next sweep
        return result

    def joined(self, ctx: EventContext) -> Tx:
        outbox = ctx.outbox or self._outbox
        return self._bind(ctx.session, BatchOutgoing(outbox, ctx.session, Flow.caused_by(ctx.envelope)))

    def reading(self) -> Tx:
        return self._reading
