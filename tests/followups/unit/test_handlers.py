"""The handlers called directly on the fakes, no HTTP: an item moved to dispute, then resolved (rule 3), and a
refused command that leaves everything as it was and publishes nothing."""

import copy
from datetime import UTC, datetime

import pytest

from shared.contracts.actions import ActionChanged
from shared.contracts.receivables import ItemsDetached, ItemsReattached, ItemStatusChanged
from shared.platform.clock import ManualClock
from services.followups.config import FollowupsSettings
from services.followups.domain.errors import Invalid
from services.followups.domain.items import ItemInput
from services.followups.domain.parties import ClientInput, UserInput
from services.followups.domain.wizard import ChangeStatus
from services.followups.handlers import admin, intake, wizard
from services.followups.handlers.context import Caller, Deps
from tests.followups.fakes import Fakes, fakes

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
TENANT = "t1"


@pytest.fixture
async def seeded() -> tuple[Fakes, Deps, Caller]:
    memory = fakes()
    deps = Deps(adapters=memory.adapters, clock=ManualClock(NOW), settings=FollowupsSettings())
    caller = Caller(tenant_id=TENANT, user_id="u-col", correlation_id="c-1")
    await admin.ensure_tenant(TENANT, deps=deps)
    await admin.save_user("u-col", UserInput.model_validate({"name": "Jean", "email": "u-col@acme.example",
                                                             "roles": ["collector"]}), caller=caller, deps=deps)
    await intake.upsert_client("C1", ClientInput.model_validate({
        "number": "C1", "name": "Client C1", "language": "fr", "currency": "EUR", "collector_id": "u-col"}),
        caller=caller, deps=deps)
    for n in (1, 2):
        await intake.upsert_item(f"I{n}", ItemInput.model_validate({
            "client_id": "C1", "number": f"INV-{n}", "issue_date": "2026-09-01", "due_date": "2026-10-24",
            "amount": "100.00", "open_amount": "100.00", "currency": "EUR"}), caller=caller, deps=deps)
    return memory, deps, caller


async def test_a_dispute_holds_the_items_and_its_resolution_releases_them(seeded: tuple[Fakes, Deps, Caller]
                                                                          ) -> None:
    memory, deps, caller = seeded
    disputed = await wizard.change_status(ChangeStatus(client_id="C1", item_ids=["I1", "I2"],
                                                       status_code="price_dispute"), caller=caller, deps=deps)
    action_id = disputed["action"]["action_id"]
    assert [e.action_id for e in memory.uow.events(ItemsDetached)] == [action_id]

    resolved = await wizard.change_status(ChangeStatus(client_id="C1", item_ids=["I1"],
                                                       status_code="dispute_resolved"), caller=caller, deps=deps)
    assert resolved["released"] == [{"action_id": action_id, "item_count": 1}]
    released = memory.uow.events(ItemsReattached)
    assert [(e.reason, [i.item_id for i in e.items]) for e in released] == [("resolved_status", ["I1"])]
    assert memory.uow.events(ItemStatusChanged)[-1].status_code == "dispute_resolved"
    assert memory.uow.events(ActionChanged)[-1].action.item_ids == ["I2"]
    items = await deps.read.items.by_ids(TENANT, ["I1", "I2"])
    assert (items["I1"].held_by_action_id, items["I2"].held_by_action_id) == (None, action_id)
    assert all(p.flow.correlation_id == "c-1" for p in memory.uow.published[-3:])


async def test_a_refused_command_writes_nothing_and_publishes_nothing(seeded: tuple[Fakes, Deps, Caller]) -> None:
    memory, deps, caller = seeded
    before, published = copy.deepcopy(memory.state), len(memory.uow.published)
    with pytest.raises(Invalid):
        await wizard.change_status(ChangeStatus(client_id="C1", item_ids=["I1", "nope"], status_code="price_dispute"),
                                   caller=caller, deps=deps)
    assert memory.state == before and len(memory.uow.published) == published
