"""Demo seed for `make up`: the demo tenant gets the default scenario, through the HTTP API only."""

from typing import Any

import httpx


async def seed_demo_scenario(base_url: str, token: str) -> dict[str, Any]:
    """Make sure the token's tenant has the default scenario (idempotent); returns what it has."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        response = await http.post("/scenarios/setup")
        response.raise_for_status()
        scenarios = response.json()
    default = next((s for s in scenarios if s["is_default"]), None)
    return {
        "scenarios": [s["code"] for s in scenarios],
        "default": default["code"] if default else None,
        "steps": [f"D{s['offset_days']:+d} {s['name']}" for s in default["steps"]] if default else [],
    }
