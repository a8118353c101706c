"""Journey in a real browser: a collector sends an internal interactive email from a follow-up; the mailer
sends it to the SMTP sink; the colleague opens the link from that email in Chromium (a phone-sized window),
reads the case, adds a comment, uploads a PDF and approves a status change (with its confirmation). The
follow-up's history then shows the three entries, attributed to that colleague. A screenshot of the page is
saved under test-artifacts/.

Followups and the mailer run in-process on the real broker and database; the SMTP sink is a real aiosmtpd.
Needs Debian's chromium (`apt-get install chromium`); without it the test is skipped and says why.
"""

import re
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.processes import free_port
from devstack.smtp_sink import Mailbox, StoredMail, start_smtp, stop_smtp
from services.followups.app import create_app as create_followups
from services.followups.config import FollowupsSettings
from services.mailer.app import create_app as create_mailer
from services.mailer.config import MailerSettings
from shared.contracts.topics import Topics
from shared.links import new_link_key_setting
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation, eventually, serve_app, service_settings
from tests.followups.helpers import Api, EventLog, Service, seed_client, seed_people

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/l/[A-Za-z0-9._-]+")
pytestmark = pytest.mark.browser


@dataclass
class Stack:
    followups: Service
    mailbox: Mailbox


@pytest.fixture(scope="module")
async def stack(infra: Infrastructure, public_key: Path) -> AsyncIterator[Stack]:
    isolation, keys, port = Isolation.new(), new_link_key_setting(), free_port()
    mailbox, smtp_port = Mailbox(), free_port()
    smtp = await start_smtp(mailbox, host="127.0.0.1", port=smtp_port)
    followups = create_followups(service_settings(
        FollowupsSettings, infra, isolation, "followups", public_key=public_key, link_keys=keys,
        public_base_url=f"http://127.0.0.1:{port}", mail_inbound_domain="inbound.acme.example"))
    mailer = create_mailer(service_settings(
        MailerSettings, infra, isolation, "mailer", public_key=public_key, link_keys=keys, smtp_host="127.0.0.1",
        smtp_port=smtp_port, sender_poll_interval_s=0.2, mail_inbound_domain="inbound.acme.example"))
    try:
        async with serve_app(followups, port=port) as followups_url, serve_app(mailer):
            events = EventLog(infra, Topics(isolation.topic_prefix))
            await events.start()
            try:
                service = Service(base_url=followups_url, infra=infra, isolation=isolation, clock=None,  # type: ignore[arg-type]
                                  events=events)
                yield Stack(followups=service, mailbox=mailbox)
            finally:
                await events.stop()
    finally:
        await stop_smtp(smtp, mailbox)


def chromium_or_skip() -> None:
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium): the browser journey is skipped")
    pytest.importorskip("playwright.async_api", reason="the playwright package is not installed (make install)")


async def test_a_colleague_acts_on_the_case_from_the_link_in_the_email(
        stack: Stack, token_for: Callable[..., str], tmp_path: Path) -> None:
    chromium_or_skip()
    from playwright.async_api import async_playwright

    async with Api(stack.followups, "tenant-" + uuid.uuid4().hex[:8], token_for, role="admin") as api:
        await seed_people(api)
        await api.ok("PUT", "/admin/settings", json={"company": {"name": "Acme Industries"},
                                                     "internal_domains": ["acme.example"]})
        ids = await seed_client(api, items=2, language="en")
        action = await api.ok("POST", "/actions", 201, json={
            "client_id": "C1", "type": "follow_up", "name": "Credit note for INV-C1-1", "item_ids": ids,
            "owner_id": "u-col"})
        await api.ok("POST", f"/actions/{action['action_id']}/emails", 202, json={
            "purpose": "internal_interactive", "to": [{"email": "u-sales@acme.example", "name": "Sara Sales"}],
            "subject": "Credit note for #client_name?", "body": "Hello Sara,\n\nCan we grant it? #link_url",
            "language": "en", "link": {"statuses": ["credit_note_requested", "price_dispute"]}})

        mail: StoredMail = (await eventually(
            lambda: _mails_to(stack.mailbox, "u-sales@acme.example"), until=bool, timeout_s=30))[0]
        message = mail.message
        assert message["Reply-To"].startswith("reply+") and message["Reply-To"].endswith("@inbound.acme.example")
        text = message.get_body(preferencelist=("plain",)).get_content()
        link = LINK.search(text)
        assert link is not None, text
        document = tmp_path / "approval.pdf"
        document.write_bytes(PDF)

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--headless"],
                viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            try:
                page = await browser.new_page()
                dialogs: list[str] = []
                page.on("dialog", lambda dialog: dialogs.append(dialog.message))
                await page.goto(link.group(0))
                assert await page.inner_text("h1") == "Client C1"
                assert "INV-C1-1" in await page.inner_text("table.items")
                await page.fill("#text", "Approved by sales <b>management</b>.")
                await page.click("#comment-submit")
                await page.wait_for_selector("#done")
                await page.set_input_files("#file", str(document))
                await page.click("#upload-submit")
                await page.wait_for_selector("text=approval.pdf")
                await page.select_option("#status", "credit_note_requested")
                await page.click("#status-submit")
                await page.wait_for_selector("#confirm-status")
                assert "Credit note requested" in await page.inner_text("main")
                await page.click("#confirm-status")
                await page.wait_for_selector("#done")
                assert "Approved by sales <b>management</b>." in await page.inner_text("#activity")
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / "interactive-link.png"), full_page=True)
                assert dialogs == []
            finally:
                await browser.close()

        history = await api.ok("GET", f"/actions/{action['action_id']}/history")
        mine = [(e["kind"], e["actor"]["email"]) for e in history if e["actor"]["kind"] == "colleague"]
        assert mine == [("comment_added", "u-sales@acme.example"), ("attachment_added", "u-sales@acme.example"),
                        ("item_status_changed", "u-sales@acme.example")]
        items = await api.ok("GET", f"/actions/{action['action_id']}/items")
        assert {item["status_code"] for item in items} == {"credit_note_requested"}
        assert (ARTIFACTS / "interactive-link.png").stat().st_size > 10_000


async def _mails_to(mailbox: Mailbox, address: str) -> list[StoredMail]:
    return [mail for mail in mailbox.mails if address in mail.rcpt_tos]
