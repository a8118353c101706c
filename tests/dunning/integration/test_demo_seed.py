"""The demo seed gives the demo tenant its default scenario through the API, and can run twice."""

from devstack.demo.dunning import seed_demo_scenario
from tests.dunning.harness import Dunning


class TestDemoSeed:
    async def test_seeding_twice_leaves_one_default_scenario(self, dunning: Dunning) -> None:
        token = dunning.auth(role="admin")["Authorization"].removeprefix("Bearer ")
        first = await seed_demo_scenario(dunning.base_url, token)
        second = await seed_demo_scenario(dunning.base_url, token)
        assert first == second
        assert first["default"] == "standard"
        assert first["steps"] == ["D-5 Courtesy email", "D+5 First reminder", "D+15 Reminder call",
                                  "D+30 Formal notice letter", "D+45 Hand over to legal"]
        assert await dunning.db.scenarios.count_documents({"tenant_id": dunning.tenant}) == 1
