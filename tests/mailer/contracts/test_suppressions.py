"""The suppression list's contract: one entry per (tenant, address), addresses in lower case, listed
in address order, checked in one call for many sends."""

from services.mailer.domain.suppressions import SuppressionScope, SuppressionSource, new_entry
from tests.mailer.contracts.conftest import T0, World


async def test_an_entry_is_kept_per_tenant_and_address_in_lower_case(world: World) -> None:
    entry = new_entry(" Hard.Bounce@Dupont.example", reason="550", source=SuppressionSource.BOUNCE, at=T0,
                      send_id="s1")
    await world.tx.suppressions.put("acme", entry)
    assert await world.tx.suppressions.get("acme", "HARD.bounce@dupont.example") == entry
    assert await world.tx.suppressions.get("globex", "hard.bounce@dupont.example") is None
    wider = new_entry("hard.bounce@dupont.example", reason="again", source=SuppressionSource.ADMIN, at=T0, by="u")
    await world.tx.suppressions.put("acme", wider)
    assert await world.tx.suppressions.entries("acme", limit=10) == [wider]
    assert await world.tx.suppressions.remove("globex", "hard.bounce@dupont.example") is False
    assert await world.tx.suppressions.remove("acme", "Hard.Bounce@dupont.example") is True
    assert await world.tx.suppressions.remove("acme", "hard.bounce@dupont.example") is False


async def test_entries_are_listed_by_address_after_a_given_one(world: World) -> None:
    for email in ("c@x.example", "a@x.example", "b@x.example"):
        await world.tx.suppressions.put("acme", new_entry(email, reason="r", source=SuppressionSource.ADMIN, at=T0))
    assert [e.email for e in await world.tx.suppressions.entries("acme", limit=2)] == ["a@x.example", "b@x.example"]
    assert [e.email for e in await world.tx.suppressions.entries("acme", limit=5, after="A@x.example")] == [
        "b@x.example", "c@x.example"]


async def test_blocked_answers_for_many_tenants_and_addresses_at_once(world: World) -> None:
    await world.tx.suppressions.put("acme", new_entry("all@x.example", reason="r", source=SuppressionSource.BOUNCE,
                                                      at=T0))
    await world.tx.suppressions.put("acme", new_entry("auto@x.example", reason="r", at=T0,
                                                      source=SuppressionSource.UNSUBSCRIBE,
                                                      scope=SuppressionScope.AUTOMATIC))
    blocked = await world.tx.suppressions.blocked([("acme", "ALL@x.example"), ("acme", "auto@x.example"),
                                                   ("globex", "all@x.example"), ("acme", "free@x.example")])
    assert blocked == {("acme", "all@x.example"): SuppressionScope.ALL,
                       ("acme", "auto@x.example"): SuppressionScope.AUTOMATIC}
    assert await world.tx.suppressions.blocked([]) == {}
