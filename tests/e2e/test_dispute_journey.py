"""The whole system on one dispute: the four services, each in its own database, talking only over Kafka.

A collector qualifies two of a client's three invoices as a price dispute into a follow-up (rules 1, 2, 6):
they leave dunning and the disputed outstanding rises (rule 5); the scheduler sends the reminder of the third
invoice alone, through the mailer, into a real SMTP sink. One invoice is resolved (rule 3), the other
disassociated by hand (rule 4): both re-enter dunning at the step their age calls for, and the KPIs fall back;
a payment closes the third. After every step the indicators equal a recompute from scratch.
"""

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.processes import free_port
from devstack.smtp_sink import Mailbox, start_smtp
from services.dunning.app import create_app as create_dunning
from services.dunning.config import DunningSettings
from services.followups.app import create_app as create_followups
from services.followups.config import FollowupsSettings
from services.indicators.app import create_app as create_indicators
from services.indicators.config import IndicatorsSettings
from services.mailer.app import create_app as create_mailer
from services.mailer.config import MailerSettings
from shared.contracts.receivables import ItemsDetached, ItemsReattached
from shared.contracts.topics import Topics
from shared.platform.clock import ManualClock
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation, eventually, serve_app, service_settings
from tests.followups.helpers import Api, EventLog, Service, seed_people

pytestmark = pytest.mark.slow
TODAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
DUE = (TODAY - timedelta(days=5)).date()  # the first reminder (D+5) is due today


@dataclass
class System:
    followups: Service
    dunning_url: str
    indicators_url: str
    dunning_clock: ManualClock
    mailbox: Mailbox


@pytest.fixture(scope="module")
async def system(infra: Infrastructure, public_key: Path) -> AsyncIterator[System]:
    isolation = Isolation.new()
    clocks = {name: ManualClock(TODAY) for name in ("followups", "dunning", "indicators")}
    mailbox, smtp_port = Mailbox(), free_port()
    smtp = await start_smtp(mailbox, host="127.0.0.1", port=smtp_port)

    def settings(cls: type, name: str, **extra: Any) -> Any:
        return service_settings(cls, infra, isolation, name, public_key=public_key, **extra)

    apps = [
        create_followups(settings(FollowupsSettings, "followups"), clock=clocks["followups"]),
        create_dunning(settings(DunningSettings, "dunning", dunning_test_mode=True, dunning_scheduler_enabled=False),
                       clock=clocks["dunning"]),
        create_indicators(settings(IndicatorsSettings, "indicators"), clock=clocks["indicators"], background=False),
        create_mailer(settings(MailerSettings, "mailer", smtp_host="127.0.0.1", smtp_port=smtp_port,
                               sender_poll_interval_s=0.2)),
    ]
    try:
        async with serve_app(apps[0]) as followups_url, serve_app(apps[1]) as dunning_url, \
                serve_app(apps[2]) as indicators_url, serve_app(apps[3]):
            events = EventLog(infra, Topics(isolation.topic_prefix))
            await events.start()
            try:
                service = Service(base_url=followups_url, infra=infra, isolation=isolation,
                                  clock=clocks["followups"], events=events)
                yield System(service, dunning_url, indicators_url, clocks["dunning"], mailbox)
            finally:
                await events.stop()
    finally:
        smtp.close()


class Desk:
    """A credit manager of one tenant, with the three APIs a person uses."""

    def __init__(self, system: System, api: Api, dunning: httpx.AsyncClient, indicators: httpx.AsyncClient) -> None:
        self.system, self.api, self.dunning, self.indicators = system, api, dunning, indicators

    async def kpis(self, until: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            response = await self.indicators.get("/kpis", params={"scope": "client", "id": "C1"})
            if response.status_code == 404:
                return {}
            response.raise_for_status()
            body = response.json()
            return {**body["currencies"][0], "open_follow_ups": body["open_follow_ups"]} if body["currencies"] else {}

        return await eventually(read, until=lambda k: bool(k) and until(k), timeout_s=30)

    async def recompute_finds_no_difference(self) -> None:
        response = await self.indicators.post("/admin/recompute", json={})
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["differences"] == [] and report["stale_counts"] == 0, report
        assert report["history_differences"] in ([], None), report

    async def dunning_items(self) -> dict[str, dict[str, Any]]:
        response = await self.dunning.get("/clients/C1/items")
        response.raise_for_status()
        return {item["item_id"]: item for item in response.json()}

    async def run_scheduler(self, day_offset: int) -> dict[str, Any]:
        self.system.dunning_clock.set(TODAY + timedelta(days=day_offset))
        response = await self.dunning.post("/admin/scheduler/run", json={})
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def mails_to(self, address: str) -> list[str]:
        return [mail.message.get_body(("plain",)).get_content()
                for mail in self.system.mailbox.mails if address in mail.rcpt_tos]


@pytest.fixture
async def desk(system: System, token_for: Callable[..., str]) -> AsyncIterator[Desk]:
    tenant = "journey-" + uuid.uuid4().hex[:8]
    token = token_for(tenant_id=tenant, role="credit_manager", user_id="u-col")
    headers = {"Authorization": f"Bearer {token}"}
    admin = {"Authorization": f"Bearer {token_for(tenant_id=tenant, role='admin', user_id='u-admin')}"}
    async with Api(system.followups, tenant, token_for, role="admin") as api, \
            httpx.AsyncClient(base_url=system.dunning_url, headers=headers, timeout=30) as dunning, \
            httpx.AsyncClient(base_url=system.indicators_url, headers=admin, timeout=30) as indicators:
        await seed_people(api)
        yield Desk(system, api, dunning, indicators)


async def test_a_dispute_takes_items_out_of_dunning_and_into_the_kpis_and_resolving_brings_them_back(
    desk: Desk,
) -> None:
    api, contact = desk.api, "marie@c1.example"
    await api.ok("PUT", "/clients/C1", json={
        "number": "C1", "name": "Dupont SA", "language": "fr", "currency": "EUR", "collector_id": "u-col",
        "contacts": [{"contact_id": "k1", "name": "Marie Dupont", "email": contact, "is_primary": True}]})
    rows = [{"item_id": f"C1-{n}", "client_id": "C1", "number": f"INV-{n}", "issue_date": "2026-10-01",
             "due_date": DUE.isoformat(), "amount": "100.00", "open_amount": "100.00", "currency": "EUR"}
            for n in (1, 2, 3)]
    assert (await api.ok("POST", "/imports/items", json=rows))["created"] == 3
    await desk.kpis(until=lambda k: Decimal(k["total_outstanding"]) == 300)

    # Rules 2 and 6: a dispute status creates its action model (a follow-up); rule 1: the items leave dunning.
    result = await api.ok("POST", "/wizard/change-status", json={
        "client_id": "C1", "item_ids": ["C1-1", "C1-2"], "status_code": "price_dispute",
        "comment": "Unit price differs from the order",
        "next_action": {"kind": "create_action", "source": "status_model", "owner_id": "u-col"}})
    follow_up = result["action"]["action_id"]
    assert result["action"]["type"] == "follow_up"
    await api.events.wait(api.tenant_id, ItemsDetached)
    # Rule 5: disputed outstanding and the dispute rate rise.
    kpis = await desk.kpis(until=lambda k: Decimal(k["disputed_outstanding"]) == 200)
    assert Decimal(kpis["dispute_rate"]).quantize(Decimal("0.0001")) == Decimal("0.6667")
    assert kpis["open_follow_ups"] == 1
    await desk.recompute_finds_no_difference()
    items = await eventually(desk.dunning_items, until=lambda i: all(
        (i.get(f"C1-{n}", {}).get("suppressed") or {}).get("reason") == "held_by_action" for n in (1, 2)))
    assert items["C1-3"]["suppressed"] is None

    # The reminder due today goes to the client for the third invoice only, through the mailer.
    report = await desk.run_scheduler(0)
    assert report["sent"] == 1 and report["skipped"] == 2, report
    [reminder] = await eventually(lambda: _async(desk.mails_to(contact)), until=lambda m: len(m) == 1)
    assert "INV-3" in reminder and "INV-1" not in reminder and "INV-2" not in reminder

    # Rule 3: resolving one item releases it; rule 4: removing the other by hand releases it too.
    await api.ok("POST", f"/actions/{follow_up}/item-status", json={
        "status_code": "dispute_resolved", "item_ids": ["C1-1"], "comment": "Credit note issued"})
    await desk.kpis(until=lambda k: Decimal(k["disputed_outstanding"]) == 100)
    await api.ok("POST", f"/actions/{follow_up}/items/remove", json={"item_ids": ["C1-2"]})
    await api.events.wait(api.tenant_id, ItemsReattached, count=2)
    kpis = await desk.kpis(until=lambda k: Decimal(k["disputed_outstanding"]) == 0)
    assert kpis["dispute_rate"] in (None, "0", "0.0000", "0E-8") or Decimal(kpis["dispute_rate"]) == 0
    await desk.recompute_finds_no_difference()

    # Back in the flow: tomorrow the released items get the reminder their age calls for, once, together.
    await eventually(desk.dunning_items, until=lambda i: all(i[f"C1-{n}"]["suppressed"] is None for n in (1, 2)))
    report = await desk.run_scheduler(1)
    assert report["sent"] == 2, report
    mails = await eventually(lambda: _async(desk.mails_to(contact)), until=lambda m: len(m) == 2)
    assert "INV-1" in mails[1] and "INV-2" in mails[1] and "INV-3" not in mails[1]
    assert (await desk.run_scheduler(1))["sent"] == 0  # the same day again sends nothing

    # A payment closes the third invoice: total outstanding falls; the figures still equal a recompute.
    await api.ok("PUT", "/items/C1-3", json={**rows[2], "open_amount": "0"})
    await desk.kpis(until=lambda k: Decimal(k["total_outstanding"]) == 200)
    await desk.recompute_finds_no_difference()


async def _async(value: Any) -> Any:
    return value
