"""The demo seed `make up` runs: a realistic tenant through the API, and a second run changes nothing."""

import uuid
from collections.abc import Callable

import pytest

from devstack.demo.followups import seed_demo_tenant
from tests.followups.helpers import Service


@pytest.mark.real_stack  # the seed is a client of the service's URL, as `make up` runs it
async def test_the_demo_tenant_is_seeded_once_and_a_second_call_changes_nothing(
        followups: Service, token_for: Callable[..., str]) -> None:
    tenant = "demo-" + uuid.uuid4().hex[:6]
    token = token_for(tenant_id=tenant, role="admin", user_id="claire.dubois")
    first = await seed_demo_tenant(followups.base_url, token, today=followups.clock.today())
    assert first["clients"] == 4 and first["items_created"] == 300 and first["templates_created"] == 2
    assert len(first["follow_ups_created"]) == 4 and first["open_actions"] == 4
    events_after_first = len(await followups.events.settle(tenant))
    second = await seed_demo_tenant(followups.base_url, token, today=followups.clock.today())
    assert (second["items_created"], second["follow_ups_created"], second["templates_created"]) == (0, [], 0)
    assert second["open_actions"] == 4
    assert len(await followups.events.settle(tenant)) == events_after_first
