"""The tenant's settings: the company shown as the sender of reminders."""

from services.dunning.domain.messages import CompanyProfile
from services.dunning.ports import DunningUnitOfWork, Tx
from shared.ports import Flow


async def company(tenant_id: str, *, uow: DunningUnitOfWork) -> CompanyProfile | None:
    return await uow.reading().scenarios.company(tenant_id)


async def save_company(tenant_id: str, profile: CompanyProfile, *, uow: DunningUnitOfWork) -> CompanyProfile:
    async def work(tx: Tx) -> None:
        await tx.scenarios.save_company(tenant_id, profile)

    await uow.run(work, flow=Flow(tenant_id))
    return profile
