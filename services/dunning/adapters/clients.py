"""Clients (`clients`) and item status rules (`statuses`), as their events told them."""

from collections.abc import Iterable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.dunning.adapters.documents import IN_CHUNK, Session, doc_id, document
from services.dunning.domain.state import ClientState, StatusRule
from shared.platform.mongo import find_by_ids


class MongoClients:
    """Clients and status rules, in the transaction of `session` (or none)."""

    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.clients, self.statuses, self.session = db["clients"], db["statuses"], session

    async def client(self, tenant_id: str, client_id: str) -> ClientState | None:
        doc = await self.clients.find_one({"_id": doc_id(tenant_id, client_id)}, session=self.session)
        return ClientState.model_validate(doc) if doc else None

    async def clients_by_id(self, tenant_id: str, client_ids: Iterable[str]) -> dict[str, ClientState]:
        ids = [doc_id(tenant_id, cid) for cid in sorted(set(client_ids))]
        docs = await find_by_ids(self.clients, ids, session=self.session, chunk=IN_CHUNK)
        return {doc["client_id"]: ClientState.model_validate(doc) for doc in docs}

    async def all_clients(self, tenant_id: str) -> dict[str, ClientState]:
        docs = await self.clients.find({"tenant_id": tenant_id}, session=self.session).to_list()
        return {doc["client_id"]: ClientState.model_validate(doc) for doc in docs}

    async def save_client(self, tenant_id: str, client: ClientState) -> None:
        doc = document(tenant_id, client.client_id, client)
        await self.clients.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=self.session)

    async def status_rules(self, tenant_id: str) -> dict[str, StatusRule]:
        docs = await self.statuses.find({"tenant_id": tenant_id}, session=self.session).to_list()
        return {doc["code"]: StatusRule.model_validate(doc) for doc in docs}

    async def save_status(self, tenant_id: str, rule: StatusRule) -> None:
        doc = document(tenant_id, rule.code, rule)
        await self.statuses.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=self.session)
