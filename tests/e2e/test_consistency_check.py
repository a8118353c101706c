"""The consistency checker on the four services against the real broker and database (one start for
the module): a clean run reports no difference; each planted difference is reported with its ids and
makes the command exit non-zero."""

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from bson import Decimal128
from pymongo import AsyncMongoClient

from devstack.check.model import Difference, Target
from devstack.check.run import check
from devstack.processes import free_port
from devstack.smtp_sink import Mailbox, start_smtp
from devstack.testing.infra import Infrastructure
from devstack.testing.kafka import produce
from devstack.testing.services import Isolation, eventually, serve_app, service_settings
from services.dunning.app import create_app as create_dunning
from services.dunning.config import DunningSettings
from services.followups.app import create_app as create_followups
from services.followups.config import FollowupsSettings
from services.indicators.app import create_app as create_indicators
from services.indicators.config import IndicatorsSettings
from services.mailer.app import create_app as create_mailer
from services.mailer.config import MailerSettings
from shared.contracts.topics import Stream, Topics
from shared.platform.clock import ManualClock
from tests.followups.helpers import Api, EventLog, Service, seed_people

pytestmark = pytest.mark.slow
TODAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
DUE = (TODAY - timedelta(days=5)).date()  # the first reminder (D+5) is due today
SERVICES = ("followups", "dunning", "indicators", "mailer")


@dataclass
class Run:
    """The stack, and one tenant's run on it: a dispute holding two items, a reminder sent for the third."""

    target: Target
    infra: Infrastructure
    isolation: Isolation
    tenant_id: str
    follow_up: str


@pytest.fixture(scope="module")
async def run(infra: Infrastructure, public_key: Path, token_for: Callable[..., str]) -> AsyncIterator[Run]:
    isolation = Isolation.new()
    clock = {name: ManualClock(TODAY) for name in ("followups", "dunning", "indicators")}
    mailbox, smtp_port = Mailbox(), free_port()
    smtp = await start_smtp(mailbox, host="127.0.0.1", port=smtp_port)

    def settings(cls: type, name: str, **extra: Any) -> Any:
        return service_settings(cls, infra, isolation, name, public_key=public_key, **extra)

    apps = [
        create_followups(settings(FollowupsSettings, "followups"), clock=clock["followups"]),
        create_dunning(settings(DunningSettings, "dunning", dunning_test_mode=True, dunning_scheduler_enabled=False),
                       clock=clock["dunning"]),
        create_indicators(settings(IndicatorsSettings, "indicators"), clock=clock["indicators"], background=False),
        create_mailer(settings(MailerSettings, "mailer", smtp_host="127.0.0.1", smtp_port=smtp_port,
                               sender_poll_interval_s=0.2)),
    ]
    try:
        async with serve_app(apps[0]) as followups, serve_app(apps[1]) as dunning, \
                serve_app(apps[2]) as indicators, serve_app(apps[3]) as mailer:
            events = EventLog(infra, Topics(isolation.topic_prefix))
            await events.start()
            try:
                tenant = "check-" + uuid.uuid4().hex[:8]
                service = Service(base_url=followups, infra=infra, isolation=isolation, clock=clock["followups"],
                                  events=events)
                follow_up = await _a_run(service, dunning, tenant, token_for, mailbox)
                target = Target(
                    urls={"followups": followups, "dunning": dunning, "indicators": indicators, "mailer": mailer},
                    kafka_bootstrap_servers=infra.kafka_bootstrap_servers, mongodb_url=infra.mongodb_url,
                    databases={name: isolation.database(name) for name in SERVICES}, tenants=[tenant],
                    token_for=lambda t: token_for(tenant_id=t, role="admin", user_id="checker"),
                    topic_prefix=isolation.topic_prefix, lag_timeout_s=60)
                yield Run(target, infra, isolation, tenant, follow_up)
            finally:
                await events.stop()
    finally:
        smtp.close()


async def _a_run(service: Service, dunning_url: str, tenant: str, token_for: Callable[..., str],
                 mailbox: Mailbox) -> str:
    async with Api(service, tenant, token_for, role="admin") as api:
        await seed_people(api)
        await api.ok("PUT", "/clients/C1", json={
            "number": "C1", "name": "Dupont SA", "language": "fr", "currency": "EUR", "collector_id": "u-col",
            "contacts": [{"contact_id": "k1", "name": "Marie", "email": "marie@c1.example", "is_primary": True}]})
        rows = [{"item_id": f"C1-{n}", "client_id": "C1", "number": f"INV-{n}", "issue_date": "2026-10-01",
                 "due_date": DUE.isoformat(), "amount": "100.00", "open_amount": "100.00", "currency": "EUR"}
                for n in (1, 2, 3)]
        await api.ok("POST", "/imports/items", json=rows)
        result = await api.ok("POST", "/wizard/change-status", json={
            "client_id": "C1", "item_ids": ["C1-1", "C1-2"], "status_code": "price_dispute", "comment": "Price",
            "next_action": {"kind": "create_action", "source": "status_model", "owner_id": "u-col"}})
    headers = {"Authorization": f"Bearer {token_for(tenant_id=tenant, role='admin', user_id='u-admin')}"}
    async with httpx.AsyncClient(base_url=dunning_url, headers=headers, timeout=30) as dunning:
        async def held() -> bool:
            lines = (await dunning.get("/clients/C1/items")).json()
            return sum(1 for line in lines if line.get("held_by_action_id")) == 2

        await eventually(held, until=bool, timeout_s=30)
        sent: list[int] = []

        async def run_scheduler() -> int:  # again until dunning has every event it needs (the client's contact)
            sent.append((await dunning.post("/admin/scheduler/run", json={})).json()["sent"])
            return sum(sent)

        assert await eventually(run_scheduler, until=lambda total: total > 0, timeout_s=30) == 1, sent
    await eventually(_async_len(mailbox), until=lambda n: n == 1, timeout_s=30)
    return str(result["action"]["action_id"])


def _async_len(mailbox: Mailbox) -> Callable[[], Any]:
    async def count() -> int:
        return len(mailbox.mails)
    return count


async def _check(target: Target) -> tuple[list[Difference], list[str]]:
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)  # shown with -s, and kept for the assertions
        lines.append(line)

    differences = await check(target, say)
    return differences, lines


async def test_a_clean_run_reports_no_difference_and_prints_the_lag(run: Run) -> None:
    differences, lines = await _check(run.target)
    assert differences == [], "\n".join(lines)
    assert any(line.startswith("consumer lag: 0 events") for line in lines), lines
    assert any("3 items" in line and "1 emails requested, 1 in the ledger" in line for line in lines), lines
    assert lines[-1] == "no difference"


async def test_an_item_paused_in_dunning_but_not_held_is_reported(run: Run) -> None:
    client = AsyncMongoClient(run.infra.mongodb_url)
    items = client[run.isolation.database("dunning")]["items"]
    query = {"tenant_id": run.tenant_id, "item_id": "C1-3"}
    try:
        await items.update_one(query, {"$set": {"held_by_action_id": "A-ghost"}})
        differences, lines = await _check(run.target)
    finally:
        await items.update_one(query, {"$set": {"held_by_action_id": None}})
        await client.close()
    assert [d.kind for d in differences] == ["hold"], lines
    assert differences[0].ids == ("C1-3", "A-ghost")
    assert "paused in dunning for action A-ghost but held by no open action" in differences[0].detail


async def test_an_email_sent_twice_in_the_ledger_is_reported(run: Run) -> None:
    client = AsyncMongoClient(run.infra.mongodb_url)
    sends = client[run.isolation.database("mailer")]["sends"]
    send = await sends.find_one({"tenant_id": run.tenant_id, "state": "sent"})
    assert send is not None
    again = {**send["history"][-1], "note": "sent again"}
    try:
        await sends.update_one({"_id": send["_id"]}, {"$push": {"history": again}})
        differences, lines = await _check(run.target)
    finally:
        await sends.update_one({"_id": send["_id"]}, {"$set": {"history": send["history"]}})
        await client.close()
    assert [d.kind for d in differences] == ["email-sent-twice"], lines
    assert differences[0].ids == (send["request_id"], str(send["_id"]))


async def test_a_tampered_indicator_is_reported_against_the_recompute(run: Run) -> None:
    client = AsyncMongoClient(run.infra.mongodb_url)
    aggregates = client[run.isolation.database("indicators")]["aggregates"]
    query = {"tenant_id": run.tenant_id, "scope": "client:C1", "currency": "EUR", "part": {"$exists": False}}
    try:
        assert (await aggregates.update_one(query, {"$inc": {"figures.outstanding": Decimal128("7")}})).modified_count
        differences, lines = await _check(run.target)
    finally:
        await aggregates.update_one(query, {"$inc": {"figures.outstanding": Decimal128("-7")}})
        await client.close()
    assert [(d.kind, d.detail, d.ids) for d in differences] == [
        ("indicator", "client C1: total_outstanding EUR is 307.00, recomputed 300.00", ("C1",))], lines


async def test_an_unpublished_outbox_row_is_reported(run: Run) -> None:
    # A database no relay serves: the relay of a running service would publish a planted row at once.
    stalled = run.isolation.database("stalled")
    client = AsyncMongoClient(run.infra.mongodb_url)
    try:
        await client[stalled]["outbox"].insert_one({"event_id": "ev-stuck", "topic": "t", "sent_at": None,
                                                   "created_at": TODAY})
        differences, lines = await _check(replace(run.target, databases={**run.target.databases, "stalled": stalled}))
    finally:
        await client.drop_database(stalled)
        await client.close()
    assert [(d.kind, d.ids) for d in differences] == [("outbox-unpublished", ("ev-stuck",))], lines


async def test_an_unexpected_dead_letter_is_reported_and_an_expected_one_is_not(run: Run) -> None:
    topic = Topics(run.isolation.topic_prefix).dead_letter(Stream.ITEMS)
    await produce(run.infra, topic, value=b"{}", headers={"dlq_event_id": "ev-poison", "dlq_error": "ValueError: x"})
    differences, lines = await _check(run.target)
    assert [(d.kind, d.ids) for d in differences] == [("dead-letter-unexpected", ("ev-poison",))], lines
    assert "ValueError: x" in differences[0].detail
    differences, lines = await _check(replace(run.target, expected_dead_letters=frozenset({"ev-poison"})))
    assert differences == [], lines
