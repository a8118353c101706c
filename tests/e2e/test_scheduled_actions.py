"""Journey: a collector schedules an automatic email in followups; on its date the dunning scheduler sends it,
exactly once, and the action in followups ends done with the run in its history. One to be confirmed waits,
open, until the collector confirms it (in followups, or from dunning's agenda).

Both services run in-process against the real broker and database and talk only over Kafka; dunning's clock
is moved by hand and its scheduler run through its test-mode admin endpoint.
"""

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.dunning.app import create_app as create_dunning
from services.dunning.config import DunningSettings
from services.followups.app import create_app as create_followups
from services.followups.config import FollowupsSettings
from shared.contracts.actions import ActionChanged
from shared.contracts.dunning import ScheduledActionExecuted
from shared.contracts.email import EmailRequested
from shared.contracts.topics import Topics
from shared.platform.clock import ManualClock
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation, eventually, serve_app, service_settings
from tests.followups.helpers import Api, EventLog, Service, history_of, seed_client, seed_people

TODAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ON = TODAY.date() + timedelta(days=3)
CONTENT = {"variants": {"fr": {"subject": "Relance #client_name", "body": "Montant dû : #items_amount_selected"}}}


@dataclass
class Stack:
    followups: Service
    dunning_url: str
    dunning_clock: ManualClock


@pytest.fixture(scope="module")
async def stack(infra: Infrastructure, public_key: Path) -> AsyncIterator[Stack]:
    """Followups and dunning on the same topics, each with its own database; dunning's scheduler only runs
    when a test asks (test mode), as of the day its clock says."""
    isolation = Isolation.new()
    followups_clock, dunning_clock = ManualClock(TODAY), ManualClock(TODAY)
    followups = create_followups(service_settings(FollowupsSettings, infra, isolation, "followups",
                                                  public_key=public_key), clock=followups_clock)
    dunning = create_dunning(service_settings(DunningSettings, infra, isolation, "dunning", public_key=public_key,
                                              dunning_test_mode=True, dunning_scheduler_enabled=False),
                             clock=dunning_clock)
    async with serve_app(followups) as followups_url, serve_app(dunning) as dunning_url:
        events = EventLog(infra, Topics(isolation.topic_prefix))
        await events.start()
        try:
            service = Service(base_url=followups_url, infra=infra, isolation=isolation, clock=followups_clock,
                              events=events)
            yield Stack(followups=service, dunning_url=dunning_url, dunning_clock=dunning_clock)
        finally:
            await events.stop()


class Desk:
    """One tenant's collector at work: followups' API (`api`) and dunning's (`dunning`)."""

    def __init__(self, stack: Stack, api: Api, dunning: httpx.AsyncClient) -> None:
        self.stack = stack
        self.api = api
        self.dunning = dunning

    @property
    def tenant(self) -> str:
        return self.api.tenant_id

    async def schedule_email(self, item_ids: list[str], *, to_be_confirmed: bool) -> dict[str, Any]:
        async with self.api.as_user("u-col", "collector") as collector:
            return await collector.ok("POST", "/actions", 201, json={  # type: ignore[no-any-return]
                "client_id": "C1", "type": "email", "name": "Relance automatique", "item_ids": item_ids,
                "scheduled_for": ON.isoformat(), "automatic": True, "to_be_confirmed": to_be_confirmed,
                "content": CONTENT})

    async def dunning_sees(self, action_id: str, state: str) -> dict[str, Any]:
        """Dunning's agenda entry for the action once it is in `state` and dunning pauses its items."""
        async def entry() -> dict[str, Any] | None:
            response = await self.dunning.get("/agenda", params={"from": ON.isoformat(), "to": ON.isoformat()})
            response.raise_for_status()
            return next((e for e in response.json() if e["id"] == action_id), None)

        found = await eventually(entry, until=lambda e: e is not None and e["state"] == state and all(
            i["due_date"] for i in e["items"]), timeout_s=30)
        assert found is not None
        held = {i["item_id"] for i in found["items"]}

        async def paused() -> set[str]:
            return {i["item_id"] for i in await self.dunning_items()
                    if (i["suppressed"] or {}).get("reason") == "held_by_action"}

        await eventually(paused, until=lambda ids: held <= ids, timeout_s=30)
        return found

    async def run_scheduler_on(self, day: date) -> dict[str, Any]:
        """Move dunning's clock to `day` and run a scheduler pass now, as of its today."""
        self.stack.dunning_clock.set(datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=7))
        response = await self.dunning.post("/admin/scheduler/run", json={})
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def dunning_items(self) -> list[dict[str, Any]]:
        """Where dunning says each of the client's items stands (paused, resumed, next step)."""
        response = await self.dunning.get("/clients/C1/items")
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    async def followups_action(self, action_id: str) -> dict[str, Any]:
        return await self.api.ok("GET", f"/actions/{action_id}")  # type: ignore[no-any-return]

    def action_emails(self, action_id: str) -> list[dict[str, Any]]:
        """Email requests for the action published by dunning (the mailer sends what it receives)."""
        return [e for e in self.api.events.of(self.tenant, EmailRequested, action_id=action_id)
                if e["source"].endswith("dunning")]


@pytest.fixture
async def desk(stack: Stack, token_for: Callable[..., str]) -> AsyncIterator[Desk]:
    tenant = "e2e-" + uuid.uuid4().hex[:8]
    token = token_for(tenant_id=tenant, role="credit_manager", user_id="u-col")
    async with Api(stack.followups, tenant, token_for, role="admin") as api, \
            httpx.AsyncClient(base_url=stack.dunning_url, timeout=30.0,
                              headers={"Authorization": f"Bearer {token}"}) as dunning:
        await seed_people(api)
        await seed_client(api, items=2)
        yield Desk(stack, api, dunning)


class TestAnAutomaticEmailOnItsDate:
    async def test_it_is_sent_once_by_dunning_and_ends_done_in_followups_with_its_history(self, desk: Desk) -> None:
        action = await desk.schedule_email(["C1-1", "C1-2"], to_be_confirmed=False)
        action_id = action["action_id"]
        await desk.dunning_sees(action_id, "pending")

        assert (await desk.run_scheduler_on(ON - timedelta(days=1)))["actions"] == {}  # not its date yet
        assert (await desk.run_scheduler_on(ON))["actions"] == {"executed": 1}

        history = await history_of(desk.api, f"/actions/{action_id}/history", {"executed"}, 1)
        await desk.api.events.wait(desk.tenant, EmailRequested, action_id=action_id)
        [email] = desk.action_emails(action_id)
        executed = history[-1]
        assert (executed["kind"], executed["actor"]["kind"]) == ("executed", "system")
        assert executed["data"]["email_request_id"] == email["data"]["request_id"]
        assert executed["data"]["scheduled_for"] == ON.isoformat() and executed["data"]["confirmed_by"] is None
        assert email["data"]["to"] == [{"email": "marie@c1.example", "name": "Marie Dupont"}]
        assert {i["item_id"] for i in email["data"]["context"]["items"]} == {"C1-1", "C1-2"}
        done = await desk.followups_action(action_id)
        assert done["state"] == "done"
        assert await desk.api.ok("GET", "/clients/C1/items?held=true") == []
        back_in_dunning = await eventually(desk.dunning_items, until=lambda items: all(
            i["resumed"] and i["suppressed"] is None for i in items), timeout_s=30)
        assert {i["item_id"] for i in back_in_dunning} == {"C1-1", "C1-2"}

        assert (await desk.run_scheduler_on(ON + timedelta(days=1)))["actions"] == {}
        await desk.api.events.settle(desk.tenant, quiet_s=1.0)
        assert len(desk.action_emails(action_id)) == 1
        assert len(desk.api.events.of(desk.tenant, ScheduledActionExecuted)) == 1
        assert len(desk.api.events.of(desk.tenant, ActionChanged, change="executed")) == 1


class TestAnAutomaticEmailToBeConfirmed:
    async def test_it_stays_open_on_its_date_until_confirmed_in_followups(self, desk: Desk) -> None:
        action_id = (await desk.schedule_email(["C1-1"], to_be_confirmed=True))["action_id"]
        await desk.dunning_sees(action_id, "awaiting_confirmation")
        assert (await desk.run_scheduler_on(ON))["actions"] == {}
        assert (await desk.followups_action(action_id))["state"] == "open"
        assert desk.action_emails(action_id) == []

        async with desk.api.as_user("u-col", "collector") as collector:
            await collector.ok("POST", f"/actions/{action_id}/confirm")
        await desk.dunning_sees(action_id, "pending")
        assert (await desk.run_scheduler_on(ON))["actions"] == {"executed": 1}

        executed = (await history_of(desk.api, f"/actions/{action_id}/history", {"executed"}, 1))[-1]
        assert executed["data"]["confirmed_by"] == "u-col"
        assert (await desk.followups_action(action_id))["state"] == "done"
        await desk.api.events.settle(desk.tenant, quiet_s=1.0)
        [email] = desk.action_emails(action_id)
        assert executed["data"]["email_request_id"] == email["data"]["request_id"]

    async def test_confirmed_from_dunnings_agenda_it_runs_at_once_and_names_who_confirmed(self, desk: Desk) -> None:
        action_id = (await desk.schedule_email(["C1-1"], to_be_confirmed=True))["action_id"]
        await desk.dunning_sees(action_id, "awaiting_confirmation")
        assert (await desk.run_scheduler_on(ON))["actions"] == {}
        assert (await desk.followups_action(action_id))["state"] == "open"

        confirmed = await desk.dunning.post(f"/agenda/actions/{action_id}/confirm")
        assert confirmed.json() == {"action_id": action_id, "outcome": "executed"}
        executed = (await history_of(desk.api, f"/actions/{action_id}/history", {"executed"}, 1))[-1]
        assert executed["data"]["confirmed_by"] == "u-col"
        assert (await desk.followups_action(action_id))["state"] == "done"
        await desk.api.events.settle(desk.tenant, quiet_s=1.0)
        assert len(desk.action_emails(action_id)) == 1
