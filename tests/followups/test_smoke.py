"""A first journey, to see the whole service wired."""

from shared.contracts.actions import ActionChanged
from shared.contracts.receivables import ItemsDetached, ItemStatusChanged, ItemStatusDefined
from tests.followups.helpers import Api, seed_client, seed_people


async def test_a_dispute_creates_a_follow_up_holding_its_items(api: Api) -> None:
    await seed_people(api)
    ids = await seed_client(api, items=3)
    result = await api.ok("POST", "/wizard/change-status", json={
        "client_id": "C1", "item_ids": ids, "status_code": "price_dispute", "comment": "wrong unit price"})
    assert result["action"]["type"] == "follow_up"
    await api.events.wait(api.tenant_id, ItemStatusDefined, 9)
    await api.events.wait(api.tenant_id, ItemStatusChanged)
    await api.events.wait(api.tenant_id, ItemsDetached)
    await api.events.wait(api.tenant_id, ActionChanged)
