"""Keeping items on a valid step after scenarios change (created, edited, deleted, default moved).

Saving a scenario marks the tenant; the remap runs right after the save and again at the start of
the next scheduler pass while the mark is there, so a crash in between leaves no item stranded on
a step that no longer exists. Each update is conditional on the item being unchanged since it was read.
"""

from pymongo import UpdateOne

from services.dunning.adapters.store import DunningStore
from shared.platform.mongo import doc_id
from services.dunning.domain.preview import position_in
from services.dunning.domain.scenarios import scenario_for

CHUNK = 2000


async def remap_tenant(tenant_id: str, *, store: DunningStore, token: str) -> int:
    """Put every item of the tenant on its client's scenario at the step its position calls for."""
    scenarios = await store.scenarios_of(tenant_id)
    if not scenarios:
        return 0
    clients = await store.all_clients(tenant_id)
    operations = []
    for item in await store.items_where(tenant_id, {}):
        client = clients.get(item.client_id)
        scenario = scenario_for(scenarios, client.scenario_code if client else None)
        assert scenario is not None
        next_step = position_in(item, scenario)
        if item.scenario_code != scenario.code or item.next_step != next_step:
            operations.append(UpdateOne(
                {"_id": doc_id(tenant_id, item.item_id), "version": item.version, "next_step": item.next_step,
                 "scenario_code": item.scenario_code},
                {"$set": {"scenario_code": scenario.code, "next_step": next_step}},
            ))
    for start in range(0, len(operations), CHUNK):
        await store.items.bulk_write(operations[start:start + CHUNK], ordered=False)
    await store.clear_remap(tenant_id, token)
    return len(operations)
