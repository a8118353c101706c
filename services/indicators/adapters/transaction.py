"""The indicators' transaction object on MongoDB, and the unit of work that hands it out."""

from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.indicators.adapters.history import MongoHistory
from services.indicators.adapters.mongo import MongoIndicatorStore
from services.indicators.adapters.recompute_reads import MongoRecomputeReads
from shared.platform.outbox import Outbox
from shared.platform.unit_of_work import MongoOutgoing, MongoUnitOfWork


@dataclass(frozen=True)
class MongoTx:
    """Implements `Tx`: the store, the history and the recompute's reads, all in one transaction.
    The indicators publish no event: the outbox of the unit of work stays unused."""

    store: MongoIndicatorStore
    history: MongoHistory
    recompute_reads: MongoRecomputeReads


def mongo_unit_of_work(client: AsyncMongoClient[Any], db: AsyncDatabase[Any],
                       outbox: Outbox) -> MongoUnitOfWork[MongoTx]:
    """The unit of work of the service's database."""

    def bind(session: AsyncClientSession | None, outgoing: MongoOutgoing) -> MongoTx:
        return MongoTx(store=MongoIndicatorStore(db, session), history=MongoHistory(db, session),
                       recompute_reads=MongoRecomputeReads(db, session))

    return MongoUnitOfWork(client=client, outbox=outbox, bind=bind)
