"""Saving scenarios: validation, one default per tenant, versioning, and moving items to valid steps."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from services.dunning.adapters.store import DunningStore
from services.dunning.domain.preview import ChangedStep, ProjectedStep, diff, project
from services.dunning.domain.scenarios import Scenario, ScenarioDraft, ensure_valid, scenario_for
from services.dunning.domain.state import ItemState
from services.dunning.handlers import tenant_scenarios
from services.dunning.remap import remap_tenant
from shared.platform.clock import Clock
from shared.platform.mongo import run_in_transaction


class ScenarioConflict(Exception):
    """The change contradicts the tenant's scenarios as they are (exists, default, version)."""


class ScenarioNotFound(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(f"no scenario {code!r}")


class ScenarioAdmin:
    def __init__(self, *, store: DunningStore, mongo: AsyncMongoClient, clock: Clock) -> None:
        self.store = store
        self.mongo = mongo
        self.clock = clock

    async def scenarios(self, tenant_id: str) -> list[Scenario]:
        return await tenant_scenarios(tenant_id, store=self.store, at=self.clock.now())

    async def setup(self, tenant_id: str) -> list[Scenario]:
        """Idempotent: the tenant has the default scenario afterwards (and keeps any it had)."""
        return await self.scenarios(tenant_id)

    async def get(self, tenant_id: str, code: str) -> Scenario:
        await self.scenarios(tenant_id)
        scenario = await self.store.scenario(tenant_id, code)
        if scenario is None:
            raise ScenarioNotFound(code)
        return scenario

    async def create(self, tenant_id: str, draft: ScenarioDraft) -> Scenario:
        ensure_valid(draft)
        await self.scenarios(tenant_id)
        scenario = Scenario(**draft.model_dump(), tenant_id=tenant_id, version=1)

        async def work(session: AsyncClientSession) -> None:
            if not await self.store.insert_scenario_if_missing(scenario, at=self.clock.now(), session=session):
                raise ScenarioConflict(f"a scenario {draft.code!r} exists already: change it with PUT")
            if scenario.is_default:
                await self.store.unset_default(tenant_id, except_code=scenario.code, session=session)
            await self.store.mark_remap(tenant_id, uuid.uuid4().hex, session=session)

        await self._save(tenant_id, work)
        return scenario

    async def replace(self, tenant_id: str, code: str, draft: ScenarioDraft, *, expected_version: int | None) -> Scenario:
        if draft.code != code:
            raise ScenarioConflict(f"the body names scenario {draft.code!r}, the address {code!r}")
        ensure_valid(draft)
        current = await self.get(tenant_id, code)
        if expected_version is not None and expected_version != current.version:
            raise ScenarioConflict(f"scenario {code!r} is at version {current.version}, not {expected_version}: "
                                   "reload it and apply your change again")
        if current.is_default and not draft.is_default:
            raise ScenarioConflict("a tenant always has a default scenario: make another one the default instead")
        scenario = Scenario(**draft.model_dump(), tenant_id=tenant_id, version=current.version + 1)

        async def work(session: AsyncClientSession) -> None:
            stored = await self.store.scenario(tenant_id, code, session=session)
            if stored is None or stored.version != current.version:
                raise ScenarioConflict(f"scenario {code!r} changed meanwhile: reload it and apply your change again")
            await self.store.save_scenario(scenario, at=self.clock.now(), session=session)
            if scenario.is_default:
                await self.store.unset_default(tenant_id, except_code=code, session=session)
            await self.store.mark_remap(tenant_id, uuid.uuid4().hex, session=session)

        await self._save(tenant_id, work)
        return scenario

    async def delete(self, tenant_id: str, code: str) -> None:
        current = await self.get(tenant_id, code)
        if current.is_default:
            raise ScenarioConflict("the default scenario cannot be deleted: make another one the default first")

        async def work(session: AsyncClientSession) -> None:
            await self.store.delete_scenario(tenant_id, code, session=session)
            await self.store.mark_remap(tenant_id, uuid.uuid4().hex, session=session)

        await self._save(tenant_id, work)

    async def _save(self, tenant_id: str, work: Callable[[AsyncClientSession], Awaitable[None]]) -> None:
        try:
            await run_in_transaction(self.mongo, work)
        except DuplicateKeyError as exc:
            raise ScenarioConflict("another change to the scenarios happened at the same moment: try again") from exc
        token = await self.store.remap_token(tenant_id)
        if token is not None:
            await remap_tenant(tenant_id, store=self.store, token=token)

    # -- dry runs --

    async def preview(self, tenant_id: str, *, days: int, client_id: str | None, start: date | None = None
                      ) -> list[ProjectedStep]:
        """What the saved scenarios will do from `start` (today) for `days` days, for a client or all."""
        scenarios = await self.scenarios(tenant_id)
        start = start or self.clock.today()
        items = await self._items_in_view(tenant_id, scenarios, client_id=client_id, start=start, days=days)
        clients = await self.store.clients_by_id(tenant_id, {item.client_id for item in items})
        statuses = await self.store.status_rules(tenant_id)
        return project(items, scenarios={s.code: s for s in scenarios}, clients=clients, statuses=statuses,
                       start=start, days=days)

    async def preview_change(self, tenant_id: str, code: str, draft: ScenarioDraft, *, days: int,
                             client_id: str | None) -> list[ChangedStep]:
        """Per item and day, what saving `draft` over scenario `code` would change (nothing is saved)."""
        ensure_valid(draft)
        saved = await self.get(tenant_id, code)
        proposed = Scenario(**draft.model_dump(), tenant_id=tenant_id, version=saved.version + 1)
        start = self.clock.today()
        items = [item for item in await self._items_in_view(tenant_id, [saved], client_id=client_id, start=start,
                                                               days=days, proposed=proposed)
                 if item.scenario_code == saved.code]
        clients = await self.store.clients_by_id(tenant_id, {item.client_id for item in items})
        statuses = await self.store.status_rules(tenant_id)
        return diff(items, saved=saved, proposed=proposed, clients=clients, statuses=statuses, start=start, days=days)

    async def _items_in_view(self, tenant_id: str, scenarios: list[Scenario], *, client_id: str | None, start: date,
                             days: int, proposed: Scenario | None = None) -> list[ItemState]:
        if client_id is not None:
            client = await self.store.client(tenant_id, client_id)
            scenario = scenario_for(scenarios, client.scenario_code if client else None)
            items = await self.store.items_where(tenant_id, {"client_id": client_id})
            return [i for i in items if scenario is not None and i.scenario_code == scenario.code]
        found: dict[str, ItemState] = {}
        for scenario in scenarios:
            offsets = [s.offset_days for s in scenario.steps] + ([s.offset_days for s in proposed.steps] if proposed else [])
            first = start - timedelta(days=max(offsets))
            last = start + timedelta(days=days - min(offsets))
            for item in await self.store.items_due_between(tenant_id, scenario, first, last):
                found[item.item_id] = item
            for step in scenario.steps:  # items behind (resumed, imported late) whatever their due date
                for item in await self.store.due_items(tenant_id, scenario.code, step.code,
                                                       start - timedelta(days=step.offset_days)):
                    found[item.item_id] = item
        return list(found.values())
