"""The mailer's transaction object on MongoDB: its repositories holding the session, and the outbox
publisher, for `shared.platform.unit_of_work.MongoUnitOfWork`."""

from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.mailer.adapters.inbound import MongoInboundRecords, MongoReplyRoutes
from services.mailer.adapters.ledger import MongoSendLedger
from services.mailer.adapters.publisher import OutboxPublisher
from services.mailer.adapters.suppressions import MongoSuppressions
from shared.platform.outbox import Outbox
from shared.platform.unit_of_work import MongoOutgoing, MongoUnitOfWork


@dataclass(frozen=True)
class MongoMailerTx:
    """The repositories and publisher of one MongoDB transaction (or of none, for reads)."""

    sends: MongoSendLedger
    suppressions: MongoSuppressions
    routes: MongoReplyRoutes
    records: MongoInboundRecords
    publisher: OutboxPublisher


def mongo_unit_of_work(client: AsyncMongoClient[Any], db: AsyncDatabase[Any], outbox: Outbox
                       ) -> MongoUnitOfWork[MongoMailerTx]:
    """The unit of work of the mailer's database."""

    def bind(session: AsyncClientSession | None, outgoing: MongoOutgoing) -> MongoMailerTx:
        # The publisher stages with the session itself: see adapters/publisher.py for why.
        return MongoMailerTx(sends=MongoSendLedger(db, session), suppressions=MongoSuppressions(db, session),
                             routes=MongoReplyRoutes(db, session), records=MongoInboundRecords(db, session),
                             publisher=OutboxPublisher(outbox, session))

    return MongoUnitOfWork(client=client, outbox=outbox, bind=bind)
