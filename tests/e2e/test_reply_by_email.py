"""Journey: a colleague answers an internal interactive email by replying to it.

The collector sends the email from a follow-up; the mailer sends it to the SMTP sink with a `reply+<token>@`
Reply-To; the colleague's reply (quoted text, a PDF) goes to the mailer's inbound SMTP listener and becomes a
comment and a document of the follow-up, attributed to the colleague. A forged address, an expired one, a reply
from someone else and an out-of-office do not become comments; a stale out-of-office is noted as one.

Followups and the mailer run in-process, each with its database, over the real broker; the sink, the inbound
listener and the client sending the replies speak real SMTP.
"""

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from devstack.processes import free_port
from devstack.smtp_sink import Mailbox, start_smtp, stop_smtp
from services.followups.app import create_app as create_followups
from services.followups.config import FollowupsSettings
from services.mailer.app import create_app as create_mailer
from services.mailer.config import MailerSettings
from shared.contracts.topics import Topics
from shared.links import new_link_key_setting
from shared.platform.clock import ManualClock
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation, eventually, serve_app, service_settings
from tests.followups.helpers import Api, EventLog, Service, seed_client, seed_people

pytestmark = pytest.mark.slow
DOMAIN = "inbound.acme.example"
SALES = "u-sales@acme.example"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclass
class Stack:
    followups: Service
    mailbox: Mailbox
    inbound_port: int
    mailer_clock: ManualClock


@pytest.fixture(scope="module")
async def stack(infra: Infrastructure, public_key: Path) -> AsyncIterator[Stack]:
    isolation, keys = Isolation.new(), new_link_key_setting()
    mailbox, smtp_port, inbound_port, mailer_port = Mailbox(), free_port(), free_port(), free_port()
    mailer_clock = ManualClock(datetime.now(UTC))
    smtp = await start_smtp(mailbox, host="127.0.0.1", port=smtp_port)
    followups = create_followups(service_settings(
        FollowupsSettings, infra, isolation, "followups", public_key=public_key, link_keys=keys,
        mail_inbound_domain=DOMAIN))
    mailer = create_mailer(service_settings(
        MailerSettings, infra, isolation, "mailer", public_key=public_key, link_keys=keys, smtp_host="127.0.0.1",
        smtp_port=smtp_port, sender_poll_interval_s=0.2, mail_inbound_domain=DOMAIN,
        mail_inbound_host="127.0.0.1", mail_inbound_port=inbound_port,
        public_base_url=f"http://127.0.0.1:{mailer_port}"), clock=mailer_clock)
    try:
        async with serve_app(followups) as followups_url, serve_app(mailer, port=mailer_port):
            events = EventLog(infra, Topics(isolation.topic_prefix))
            await events.start()
            try:
                service = Service(base_url=followups_url, infra=infra, isolation=isolation, clock=None,  # type: ignore[arg-type]
                                  events=events)
                yield Stack(service, mailbox, inbound_port, mailer_clock)
            finally:
                await events.stop()
    finally:
        await stop_smtp(smtp, mailbox)


def reply(*, sender: str, to: str, text: str, headers: dict[str, str] | None = None,
          pdf: bool = False) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, "Re: Credit note for Client C1?"
    message["Message-ID"] = make_msgid(domain="acme.example")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if pdf:
        message.add_attachment(PDF, maintype="application", subtype="pdf", filename="approval.pdf")
    return message


async def deliver(stack: Stack, message: EmailMessage, *, sender: str, to: str) -> None:
    await aiosmtplib.send(message, hostname="127.0.0.1", port=stack.inbound_port, sender=sender, recipients=[to])


async def test_a_reply_becomes_the_colleagues_comment_and_document_and_nothing_else_does(
    stack: Stack, token_for: Callable[..., str],
) -> None:
    async with Api(stack.followups, "tenant-" + uuid.uuid4().hex[:8], token_for, role="admin") as api:
        await seed_people(api)
        await api.ok("PUT", "/admin/settings", json={"company": {"name": "Acme"}, "internal_domains": ["acme.example"]})
        ids = await seed_client(api, items=2, language="en")
        action = await api.ok("POST", "/actions", 201, json={
            "client_id": "C1", "type": "follow_up", "name": "Credit note", "item_ids": ids, "owner_id": "u-col"})
        action_id = action["action_id"]
        await api.ok("POST", f"/actions/{action_id}/emails", 202, json={
            "purpose": "internal_interactive", "to": [{"email": SALES, "name": "Sara Sales"}],
            "subject": "Credit note for #client_name?", "body": "Can we grant it? #link_url", "language": "en"})
        mails = await eventually(lambda: _mails_to(stack.mailbox, SALES), until=bool, timeout_s=30)
        reply_to = mails[0].message["Reply-To"]
        assert reply_to.startswith("reply+") and reply_to.endswith("@" + DOMAIN)

        async def history() -> list[dict[str, Any]]:
            return await api.ok("GET", f"/actions/{action_id}/history")  # type: ignore[no-any-return]

        # A forged address, and the same address once expired, are refused by the listener itself.
        token = reply_to.split("+", 1)[1].split("@")[0]
        forged = f"reply+{token[:-3]}{'a' if token[-3] != 'a' else 'b'}{token[-2:]}@{DOMAIN}"
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await deliver(stack, reply(sender=SALES, to=forged, text="Forged"), sender=SALES, to=forged)
        stack.mailer_clock.set(datetime.now(UTC) + timedelta(days=400))
        try:
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
                await deliver(stack, reply(sender=SALES, to=reply_to, text="Too late"), sender=SALES, to=reply_to)
        finally:
            stack.mailer_clock.set(datetime.now(UTC))
        # Someone else than the colleague the link was issued to is refused too.
        with pytest.raises(aiosmtplib.SMTPResponseException):
            await deliver(stack, reply(sender="intruder@elsewhere.example", to=reply_to, text="Let me in"),
                          sender="intruder@elsewhere.example", to=reply_to)

        # An out-of-office is noted, never a comment; its return date is read against the mailer's clock.
        back = stack.mailer_clock.today() + timedelta(days=10)
        await deliver(stack, reply(sender=SALES, to=reply_to, text=f"I am out of the office, back on {back:%d %B %Y}.",
                                   headers={"Auto-Submitted": "auto-replied"}), sender=SALES, to=reply_to)
        # A stale out-of-office (its return date already past) is noted as such, not dropped.
        stale = stack.mailer_clock.today() - timedelta(days=30)
        await deliver(stack, reply(sender=SALES, to=reply_to, text=f"Out of the office, back on {stale:%d %B %Y}.",
                                   headers={"Auto-Submitted": "auto-replied"}), sender=SALES, to=reply_to)
        await eventually(history, until=lambda h: sum(e["kind"] == "reply_received" for e in h) == 2)

        # The colleague's real answer: quoted text stripped, the PDF attached, both by the colleague.
        answer = "Yes, approved for the full amount.\n\nOn Mon, 23 Nov 2026, AR wrote:\n> Can we grant it?\n"
        await deliver(stack, reply(sender=SALES, to=reply_to, text=answer, pdf=True), sender=SALES, to=reply_to)
        entries = await eventually(history, until=lambda h: any(e["kind"] == "attachment_added" for e in h))
        attachments = await api.ok("GET", f"/actions/{action_id}/attachments")
        downloaded = await api.http.get(f"/attachments/{attachments[0]['attachment_id']}")

    by_colleague = [(e["kind"], e.get("text")) for e in entries if e["actor"]["kind"] == "colleague"]
    comments = [text for kind, text in by_colleague if kind == "comment_added"]
    assert comments == ["Yes, approved for the full amount."]
    assert "attachment_added" in [kind for kind, _ in by_colleague]
    assert all(e["actor"]["email"] == SALES for e in entries if e["actor"]["kind"] == "colleague")
    assert not any("Forged" in (e.get("text") or "") or "Let me in" in (e.get("text") or "")
                   or "Too late" in (e.get("text") or "") for e in entries)
    out_of_office = {e["data"]["return_date"]: e["data"] for e in entries if e["kind"] == "reply_received"}
    assert out_of_office.keys() == {back.isoformat(), stale.isoformat()}
    assert out_of_office[back.isoformat()]["kind"] == "auto_reply"
    assert out_of_office[back.isoformat()]["return_date_note"] is None
    assert out_of_office[stale.isoformat()]["return_date_note"] == "return date already past"
    assert [a["filename"] for a in attachments] == ["approval.pdf"]
    assert downloaded.status_code == 200 and downloaded.content == PDF


async def _mails_to(mailbox: Mailbox, address: str) -> list[Any]:
    return [mail for mail in mailbox.mails if address in mail.rcpt_tos]
