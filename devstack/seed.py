"""The demo tenant `make up` seeds through the services' own APIs (idempotent: a restart adds nothing)."""

from devstack.demo.dunning import seed_demo_scenario
from devstack.demo.followups import seed_demo_tenant
from devstack.stack import StackConfig
from shared.platform.clock import SystemClock

DEMO_TENANT = "demo"


async def seed_demo(config: StackConfig, token: str) -> str:
    """Seed the demo tenant; returns one line saying what is there and what this run added."""
    scenario = await seed_demo_scenario(config.url("dunning"), token)
    followups = await seed_demo_tenant(config.url("followups"), token, today=SystemClock().today())
    added = followups["items_created"]
    return (
        f"demo tenant '{DEMO_TENANT}': {followups['clients']} clients, {followups['open_actions']} open actions, "
        f"scenario '{scenario['default']}' ({', '.join(scenario['steps'])}); "
        + (f"{added} items added now" if added else "nothing to add: the data was already there")
    )
