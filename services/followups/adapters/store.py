"""All repositories of the followups database, built once from it."""

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.followups.adapters.actions import (
    ActionsRepository,
    EmailsRepository,
    HistoryRepository,
    QualificationsRepository,
)
from services.followups.adapters.attachments import AttachmentStore
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
class Store:
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
    attachments: AttachmentStore
    links: LinksRepository
    replies: RepliesRepository

    @classmethod
    def on(cls, db: AsyncDatabase[Any]) -> "Store":
        return cls(clients=ClientsRepository(db), items=ItemsRepository(db), users=UsersRepository(db),
                   statuses=StatusesRepository(db), templates=TemplatesRepository(db), tenants=TenantsRepository(db),
                   actions=ActionsRepository(db), history=HistoryRepository(db),
                   qualifications=QualificationsRepository(db), emails=EmailsRepository(db),
                   attachments=AttachmentStore(db), links=LinksRepository(db), replies=RepliesRepository(db))

    async def ensure_indexes(self) -> None:
        for repository in (self.clients, self.items, self.actions, self.history, self.qualifications, self.emails,
                           self.attachments, self.links, self.replies):
            await repository.ensure_indexes()
