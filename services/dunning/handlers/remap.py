"""Keeping items on a valid step after scenarios change (created, edited, deleted, default moved).

Saving a scenario marks the tenant; the remap runs right after the save and again at the start of
the next scheduler pass while the mark is there, so a crash in between leaves no item stranded on
a step that no longer exists. Each move is conditional on the item being unchanged since it was read.
"""

from services.dunning.domain.preview import position_in
from services.dunning.domain.scenarios import scenario_for
from services.dunning.ports import Tx


async def remap_if_marked(tenant_id: str, tx: Tx) -> int:
    """Remap the tenant if a scenario change marked it; how many items were asked to move."""
    token = await tx.scenarios.remap_token(tenant_id)
    return 0 if token is None else await remap_tenant(tenant_id, tx, token=token)


async def remap_tenant(tenant_id: str, tx: Tx, *, token: str) -> int:
    """Put every item of the tenant on its client's scenario at the step its position calls for."""
    scenarios = await tx.scenarios.scenarios_of(tenant_id)
    if not scenarios:
        return 0
    clients = await tx.clients.all_clients(tenant_id)
    moves = []
    for item in await tx.items.all_items(tenant_id):
        client = clients.get(item.client_id)
        scenario = scenario_for(scenarios, client.scenario_code if client else None)
        assert scenario is not None
        next_step = position_in(item, scenario)
        if item.scenario_code != scenario.code or item.next_step != next_step:
            moves.append((item, scenario.code, next_step))
    moved = await tx.items.remap(tenant_id, moves)
    await tx.scenarios.clear_remap(tenant_id, token)
    return moved
