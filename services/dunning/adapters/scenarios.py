"""The tenants' scenarios (`scenarios`) and settings (`tenant_settings`: company profile, remap mark)."""

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.dunning.adapters.documents import Session, doc_id, document
from services.dunning.domain.messages import CompanyProfile
from services.dunning.domain.scenarios import Scenario


class MongoScenarios:
    """Scenarios and tenant settings, in the transaction of `session` (or none)."""

    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.scenarios, self.settings, self.session = db["scenarios"], db["tenant_settings"], session

    async def scenarios_of(self, tenant_id: str) -> list[Scenario]:
        docs = await self.scenarios.find({"tenant_id": tenant_id}, session=self.session).to_list()
        return sorted((Scenario.model_validate(doc) for doc in docs), key=lambda s: s.code)

    async def scenario(self, tenant_id: str, code: str) -> Scenario | None:
        doc = await self.scenarios.find_one({"_id": doc_id(tenant_id, code)}, session=self.session)
        return Scenario.model_validate(doc) if doc else None

    async def save_scenario(self, scenario: Scenario, *, at: datetime) -> None:
        doc = {**document(scenario.tenant_id, scenario.code, scenario), "updated_at": at}
        await self.scenarios.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=self.session)

    async def insert_scenario_if_missing(self, scenario: Scenario, *, at: datetime) -> bool:
        doc = {**document(scenario.tenant_id, scenario.code, scenario), "updated_at": at}
        result = await self.scenarios.update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True,
                                                 session=self.session)
        return result.upserted_id is not None

    async def unset_default(self, tenant_id: str, *, except_code: str) -> None:
        await self.scenarios.update_many({"tenant_id": tenant_id, "code": {"$ne": except_code}},
                                         {"$set": {"is_default": False}}, session=self.session)

    async def delete_scenario(self, tenant_id: str, code: str) -> bool:
        result = await self.scenarios.delete_one({"_id": doc_id(tenant_id, code)}, session=self.session)
        return result.deleted_count == 1

    async def tenants(self) -> list[str]:
        return sorted(await self.scenarios.distinct("tenant_id", session=self.session))

    async def company(self, tenant_id: str) -> CompanyProfile | None:
        doc = await self.settings.find_one({"_id": tenant_id}, session=self.session)
        return CompanyProfile.model_validate(doc["company"]) if doc and doc.get("company") else None

    async def save_company(self, tenant_id: str, company: CompanyProfile) -> None:
        await self.settings.update_one({"_id": tenant_id}, {"$set": {"tenant_id": tenant_id,
                                                                     "company": company.model_dump()}},
                                       upsert=True, session=self.session)

    async def mark_remap(self, tenant_id: str, token: str) -> None:
        await self.settings.update_one({"_id": tenant_id}, {"$set": {"tenant_id": tenant_id, "remap_token": token}},
                                       upsert=True, session=self.session)

    async def remap_token(self, tenant_id: str) -> str | None:
        doc = await self.settings.find_one({"_id": tenant_id}, {"remap_token": 1}, session=self.session)
        return doc.get("remap_token") if doc else None

    async def clear_remap(self, tenant_id: str, token: str) -> None:
        await self.settings.update_one({"_id": tenant_id, "remap_token": token}, {"$unset": {"remap_token": ""}},
                                       session=self.session)
