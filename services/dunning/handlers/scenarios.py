"""Saving scenarios: the default one on first use, validation, one default per tenant, versioning; every
save marks the tenant so its items are moved to valid steps (`remap.py`), now and at the next pass."""

import uuid
from collections.abc import Awaitable, Callable

from services.dunning.domain.default_scenario import default_scenario
from services.dunning.domain.scenarios import Scenario, ScenarioConflict, ScenarioDraft, ScenarioNotFound, ensure_valid
from services.dunning.handlers.remap import remap_if_marked
from services.dunning.ports import DunningUnitOfWork, Tx
from shared.platform.clock import Clock
from shared.ports import Duplicate, Flow


async def tenant_scenarios(tenant_id: str, tx: Tx, clock: Clock) -> list[Scenario]:
    """The tenant's scenarios; on first use the shipped default scenario is created."""
    scenarios = await tx.scenarios.scenarios_of(tenant_id)
    if scenarios:
        return scenarios
    default = Scenario(**default_scenario().model_dump(), tenant_id=tenant_id, version=1)
    await tx.scenarios.insert_scenario_if_missing(default, at=clock.now())
    return [default]


async def list_scenarios(tenant_id: str, *, uow: DunningUnitOfWork, clock: Clock) -> list[Scenario]:
    """The tenant's scenarios (setup is the same: idempotent, the default exists afterwards)."""
    return await tenant_scenarios(tenant_id, uow.reading(), clock)


async def get_scenario(tenant_id: str, code: str, *, uow: DunningUnitOfWork, clock: Clock) -> Scenario:
    await list_scenarios(tenant_id, uow=uow, clock=clock)
    scenario = await uow.reading().scenarios.scenario(tenant_id, code)
    if scenario is None:
        raise ScenarioNotFound(code)
    return scenario


async def create_scenario(tenant_id: str, draft: ScenarioDraft, *, uow: DunningUnitOfWork, clock: Clock) -> Scenario:
    ensure_valid(draft)
    await list_scenarios(tenant_id, uow=uow, clock=clock)
    scenario = Scenario(**draft.model_dump(), tenant_id=tenant_id, version=1)

    async def work(tx: Tx) -> None:
        if not await tx.scenarios.insert_scenario_if_missing(scenario, at=clock.now()):
            raise ScenarioConflict(f"a scenario {draft.code!r} exists already: change it with PUT")
        if scenario.is_default:
            await tx.scenarios.unset_default(tenant_id, except_code=scenario.code)
        await tx.scenarios.mark_remap(tenant_id, uuid.uuid4().hex)

    await _save(tenant_id, work, uow)
    return scenario


async def replace_scenario(tenant_id: str, code: str, draft: ScenarioDraft, *, expected_version: int | None,
                           uow: DunningUnitOfWork, clock: Clock) -> Scenario:
    if draft.code != code:
        raise ScenarioConflict(f"the body names scenario {draft.code!r}, the address {code!r}")
    ensure_valid(draft)
    current = await get_scenario(tenant_id, code, uow=uow, clock=clock)
    if expected_version is not None and expected_version != current.version:
        raise ScenarioConflict(f"scenario {code!r} is at version {current.version}, not {expected_version}: "
                               "reload it and apply your change again")
    if current.is_default and not draft.is_default:
        raise ScenarioConflict("a tenant always has a default scenario: make another one the default instead")
    scenario = Scenario(**draft.model_dump(), tenant_id=tenant_id, version=current.version + 1)

    async def work(tx: Tx) -> None:
        stored = await tx.scenarios.scenario(tenant_id, code)
        if stored is None or stored.version != current.version:
            raise ScenarioConflict(f"scenario {code!r} changed meanwhile: reload it and apply your change again")
        await tx.scenarios.save_scenario(scenario, at=clock.now())
        if scenario.is_default:
            await tx.scenarios.unset_default(tenant_id, except_code=code)
        await tx.scenarios.mark_remap(tenant_id, uuid.uuid4().hex)

    await _save(tenant_id, work, uow)
    return scenario


async def delete_scenario(tenant_id: str, code: str, *, uow: DunningUnitOfWork, clock: Clock) -> None:
    current = await get_scenario(tenant_id, code, uow=uow, clock=clock)
    if current.is_default:
        raise ScenarioConflict("the default scenario cannot be deleted: make another one the default first")

    async def work(tx: Tx) -> None:
        await tx.scenarios.delete_scenario(tenant_id, code)
        await tx.scenarios.mark_remap(tenant_id, uuid.uuid4().hex)

    await _save(tenant_id, work, uow)


async def _save(tenant_id: str, work: Callable[[Tx], Awaitable[None]], uow: DunningUnitOfWork) -> None:
    """Save, then move the items right away (the mark stays if this stops halfway: the next pass does it)."""
    try:
        await uow.run(work, flow=Flow(tenant_id))
    except Duplicate as exc:
        raise ScenarioConflict("another change to the scenarios happened at the same moment: try again") from exc
    await remap_if_marked(tenant_id, uow.reading())
