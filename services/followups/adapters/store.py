"""The MongoDB side of the ports: a transaction object (`Tx`) whose repositories hold one session, the unit
of work that hands it out, and the indexes of the followups database."""

from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.platform.outbox import Outbox
from shared.platform.unit_of_work import MongoOutgoing, MongoUnitOfWork
from services.followups.adapters.actions import (
    ActionsRepository,
    EmailsRepository,
    HistoryRepository,
    QualificationsRepository,
)
from services.followups.adapters.attachments import AttachmentsRepository
from services.followups.adapters.events import OutboxEvents
from services.followups.adapters.items import ItemsRepository
from services.followups.adapters.links import LinksRepository, RepliesRepository
from services.followups.adapters.records import (
    ClientsRepository,
    StatusesRepository,
    TemplatesRepository,
    TenantsRepository,
    UsersRepository,
)


@dataclass(frozen=True)
class MongoTx:
    """Every repository of the followups database on one session (None: outside any transaction)."""

    clients: ClientsRepository
    items: ItemsRepository
    users: UsersRepository
    statuses: StatusesRepository
    templates: TemplatesRepository
    tenants: TenantsRepository
    actions: ActionsRepository
    history: HistoryRepository
    qualifications: QualificationsRepository
    emails: EmailsRepository
    attachments: AttachmentsRepository
    links: LinksRepository
    replies: RepliesRepository
    events: OutboxEvents

    @classmethod
    def on(cls, db: AsyncDatabase[Any], session: AsyncClientSession | None, outgoing: MongoOutgoing) -> "MongoTx":
        return cls(clients=ClientsRepository(db, session), items=ItemsRepository(db, session),
                   users=UsersRepository(db, session), statuses=StatusesRepository(db, session),
                   templates=TemplatesRepository(db, session), tenants=TenantsRepository(db, session),
                   actions=ActionsRepository(db, session), history=HistoryRepository(db, session),
                   qualifications=QualificationsRepository(db, session), emails=EmailsRepository(db, session),
                   attachments=AttachmentsRepository(db, session), links=LinksRepository(db, session),
                   replies=RepliesRepository(db, session), events=OutboxEvents(outgoing))


def mongo_unit_of_work(client: AsyncMongoClient[Any], db: AsyncDatabase[Any], outbox: Outbox
                       ) -> MongoUnitOfWork[MongoTx]:
    """Commands run in a transaction of their own; event handlers join the consumer's (`uow.joined(ctx)`)."""
    return MongoUnitOfWork(client=client, outbox=outbox,
                           bind=lambda session, outgoing: MongoTx.on(db, session, outgoing))


async def ensure_indexes(db: AsyncDatabase[Any]) -> None:
    tx = MongoTx.on(db, None, None)  # type: ignore[arg-type]  # no events: indexes only
    for repository in (tx.clients, tx.items, tx.actions, tx.history, tx.qualifications, tx.emails, tx.attachments,
                       tx.links, tx.replies):
        await repository.ensure_indexes()
