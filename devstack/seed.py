"""The demo tenant `make up` seeds through the services' own APIs (idempotent: a restart adds nothing)."""

from devstack.stack import StackConfig

DEMO_TENANT = "demo"


async def seed_demo(config: StackConfig, token: str) -> str:
    """Seed the demo tenant; returns one line saying what was done."""
    try:
        from services.dunning.demo import seed_demo_scenario
        from services.followups.demo import seed_demo_tenant
    except ImportError:
        return "demo data: the services that hold it are not built yet"
    followups = await seed_demo_tenant(config.url("followups"), token)
    dunning = await seed_demo_scenario(config.url("dunning"), token)
    return f"demo data: {followups} {dunning}"
