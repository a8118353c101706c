"""The dunning unit of work on MongoDB: the platform's, binding the dunning repositories and publisher to
each transaction."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.dunning.adapters.actions import MongoActions
from services.dunning.adapters.clients import MongoClients
from services.dunning.adapters.items import MongoItems
from services.dunning.adapters.publisher import OutboxPublisher
from services.dunning.adapters.records import MongoRecords
from services.dunning.adapters.scenarios import MongoScenarios
from services.dunning.ports import (
    ActionRepository,
    ClientRepository,
    DunningPublisher,
    ItemRepository,
    RecordRepository,
    ScenarioRepository,
    Tx,
)
from shared.platform.outbox import Outbox
from shared.platform.unit_of_work import MongoOutgoing, MongoUnitOfWork



@dataclass(frozen=True)
class DunningTx:
    """The repositories and publisher of one unit of work (what `ports.Tx` describes)."""

    scenarios: ScenarioRepository
    clients: ClientRepository
    items: ItemRepository
    actions: ActionRepository
    records: RecordRepository
    publisher: DunningPublisher


def binder(db: AsyncDatabase[Any]) -> Callable[[AsyncClientSession | None, MongoOutgoing], Tx]:
    """`bind(session, outgoing)` for the platform's unit of work: the dunning repositories on `session`."""

    def bind(session: AsyncClientSession | None, outgoing: MongoOutgoing) -> Tx:
        return DunningTx(scenarios=MongoScenarios(db, session), clients=MongoClients(db, session),
                         items=MongoItems(db, session), actions=MongoActions(db, session),
                         records=MongoRecords(db, session), publisher=OutboxPublisher(outgoing))

    return bind


class DunningMongoUnitOfWork(MongoUnitOfWork[Tx]):
    """The platform's unit of work over the dunning repositories and publisher."""

    def __init__(self, *, client: AsyncMongoClient[Any], outbox: Outbox, db: AsyncDatabase[Any]) -> None:
        super().__init__(client=client, outbox=outbox, bind=binder(db))
