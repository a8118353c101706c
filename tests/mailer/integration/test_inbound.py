"""The inbound listener of the running mailer, over real SMTP (aiosmtplib → aiosmtpd), with the real
broker and database: a colleague's reply becomes ReplyReceived (stripped text, files behind a
signed claim check), once per mail; forged, expired and wrong-sender replies are refused and publish
nothing; an out-of-office is an auto-reply with its return date; a bounce fails the send, suppresses
the address and reports it once; an unsubscribe mail stops automatic emails."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pymongo import AsyncMongoClient

from devstack.processes import free_port
from services.mailer.adapters.inbound import MongoReplyFiles
from services.mailer.adapters.metrics import MailerMetrics
from services.mailer.adapters.unit_of_work import mongo_unit_of_work
from services.mailer.domain.sends import send_id_for
from services.mailer.handlers.inbound import Inbound
from services.mailer.workers.inbound import InboundListener
from shared.contracts.email import EmailPurpose
from shared.contracts.values import Recipient
from shared.links import LinkKeys, new_link_key_setting
from shared.platform.clock import SystemClock
from shared.platform.metrics import Metrics
from shared.platform.mongo import create_mongo_client
from shared.platform.outbox import Outbox
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation
from tests.mailer.integration.conftest import INBOUND_DOMAIN, TENANT, Mailer, mailer_settings
from tests.mailer.mails import PDF, deliver, grant, reply, reply_address, standard_bounce, wait_listening
from tests.mailer.samples import email_request

SALES = "sales.manager@acme.example"


async def interactive_email(mailer: Mailer, n: int, *, action_id: str, recipient: str = SALES,
                            forwarding_allowed: bool = False) -> tuple[str, Any]:
    """Send an internal interactive email whose Reply-To is a reply address; wait until it is delivered."""
    link = grant(action_id, recipient, forwarding_allowed=forwarding_allowed)
    address = reply_address(link, mailer.keys, INBOUND_DOMAIN)
    request = email_request(n, key_prefix="inb", to=recipient, client_id="c-inbound", action_id=action_id,
                            purpose=EmailPurpose.INTERNAL_INTERACTIVE, automatic=False, reply_to=address)
    [envelope] = await mailer.requests.publish([request])
    [delivered] = await mailer.reports.wait_for(request.request_id)
    assert delivered.type == "arf.email.delivered.v1"
    return address, (link, envelope)


async def database_rows(mailer: Mailer, collection: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    client: AsyncMongoClient = AsyncMongoClient(mailer.ledger.infra.mongodb_url, tz_aware=True)
    try:
        return await client[mailer.database][collection].find(query).to_list()
    finally:
        await client.close()


async def staged_replies(mailer: Mailer, action_id: str) -> list[dict[str, Any]]:
    """ReplyReceived rows in the mailer's outbox: what was (or will be) published, written before 250."""
    rows = await database_rows(mailer, "outbox", {"type": "arf.reply.received.v1"})
    return [row for row in rows if f'"action_id":"{action_id}"' in row["value"]]


class TestReplies:
    async def test_a_reply_with_an_attachment_becomes_a_comment_with_its_file_once(self, mailer: Mailer) -> None:
        address, (link, request_envelope) = await interactive_email(mailer, 1, action_id="a-reply-1")
        mail = reply(sender="Paul Sales <Sales.Manager@acme.example>", to=address, files=[
            ("..\\..\\Windows\\credit-note.pdf", "application/pdf", PDF),
            ("setup.exe", "application/octet-stream", b"MZ\x90\x00 not a document"),
        ])
        await deliver(mail, port=mailer.inbound_port, sender=SALES, recipients=[address])

        [event] = await mailer.reports.wait_for_replies("a-reply-1")
        data = event.data
        assert data["kind"] == "reply" and data["from_email"] == SALES and data["link_id"] == link.link_id
        assert data["text"] == ("Approved: please issue the credit note.\n\nPaul\n\n"
                                "[setup.exe: not kept, application/octet-stream files are not accepted]")
        assert (data["client_id"], event.partitionkey) == ("c-inbound", f"{TENANT}:c-inbound")
        assert event.correlation_id == request_envelope.correlation_id
        [file] = data["attachments"]
        assert (file["filename"], file["content_type"], file["size"]) == ("credit-note.pdf", "application/pdf", len(PDF))
        path = file["url"].removeprefix("http://localhost:8000")  # the mailer's public URL; here on a test port
        assert path.startswith("/inbound/files/c1.k1.")
        async with httpx.AsyncClient(base_url=mailer.base_url) as http:
            fetched = await http.get(path)
            assert fetched.status_code == 200 and fetched.content == PDF
            assert fetched.headers["content-type"] == "application/pdf"
            assert 'filename="credit-note.pdf"' in fetched.headers["content-disposition"]
            forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
            assert (await http.get(forged)).status_code == 403

        await deliver(mail, port=mailer.inbound_port, sender=SALES, recipients=[address])  # the MTA tries again
        assert len(await staged_replies(mailer, "a-reply-1")) == 1
        assert len(await database_rows(mailer, "inbound", {"action_id": "a-reply-1"})) == 1

    async def test_an_html_only_reply_is_converted_to_text(self, mailer: Mailer) -> None:
        address, _ = await interactive_email(mailer, 2, action_id="a-reply-2")
        html = ("<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
                "<p>Refused &amp; closed:<br>the price was agreed in <b>January</b>.</p>"
                "<div class=\"gmail_quote\"><div>On Mon, 2 Mar 2026 at 10:00, Acme &lt;ar@acme.example&gt; wrote:</div>"
                "<blockquote>Please approve</blockquote></div></body></html>")
        await deliver(reply(sender=SALES, to=address, text="", html=html), port=mailer.inbound_port, sender=SALES,
                      recipients=[address])
        [event] = await mailer.reports.wait_for_replies("a-reply-2")
        assert event.data["text"] == "Refused & closed:\nthe price was agreed in January."

    async def test_forged_expired_and_unknown_reply_addresses_are_refused_at_rcpt(self, mailer: Mailer) -> None:
        address, (link, _) = await interactive_email(mailer, 3, action_id="a-reply-3")
        local, _, domain = address.partition("@")
        other_keys = LinkKeys.parse(new_link_key_setting("k1"))
        expired = grant("a-reply-3", SALES, days=-1)
        refused = {
            "altered token": f"{local[:-2]}{'ab' if not local.endswith('ab') else 'cd'}@{domain}",
            "signed with another key": reply_address(link, other_keys, INBOUND_DOMAIN),
            "expired": reply_address(expired, mailer.keys, INBOUND_DOMAIN),
            "another tenant's link": reply_address(grant("a-reply-3", SALES, tenant_id="globex"), mailer.keys,
                                                   INBOUND_DOMAIN),
            "not a reply address": f"ceo@{INBOUND_DOMAIN}",
        }
        answers = {}
        for case, recipient in refused.items():
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as caught:
                await deliver(reply(sender=SALES, to=recipient), port=mailer.inbound_port, sender=SALES,
                              recipients=[recipient])
            [error] = caught.value.recipients
            answers[case] = (error.code, error.message)
        assert answers == {
            "altered token": (550, "5.7.1 this reply address is not valid"),
            "signed with another key": (550, "5.7.1 this reply address is not valid"),
            "expired": (550, "5.7.1 this reply address has expired; use the link in the email"),
            "another tenant's link": (550, "5.1.1 no such reply address"),
            "not a reply address": (550, "5.1.1 No such address here"),
        }
        assert await staged_replies(mailer, "a-reply-3") == []

    async def test_a_reply_from_another_address_is_refused_unless_forwarding_is_allowed(self, mailer: Mailer) -> None:
        address, _ = await interactive_email(mailer, 4, action_id="a-reply-4")
        with pytest.raises(aiosmtplib.SMTPDataError) as caught:
            await deliver(reply(sender="intruder@elsewhere.example", to=address), port=mailer.inbound_port,
                          sender=SALES, recipients=[address])  # the envelope is the recipient's: From decides
        assert (caught.value.code, caught.value.message) == (550, "5.7.1 this reply address belongs to another recipient")
        assert await staged_replies(mailer, "a-reply-4") == []

        forwardable, _ = await interactive_email(mailer, 5, action_id="a-reply-5", forwarding_allowed=True)
        await deliver(reply(sender="assistant@acme.example", to=forwardable), port=mailer.inbound_port,
                      sender="assistant@acme.example", recipients=[forwardable])
        [event] = await mailer.reports.wait_for_replies("a-reply-5")
        assert event.data["from_email"] == "assistant@acme.example"


class TestAutoReplies:
    async def test_an_out_of_office_is_an_auto_reply_with_its_return_date_not_a_comment(self, mailer: Mailer) -> None:
        address, _ = await interactive_email(mailer, 6, action_id="a-ooo-1")
        back = SystemClock().today() + timedelta(days=20)
        mail = reply(sender=SALES, to=address, subject="Réponse automatique : Avoir à valider",
                     text=f"Bonjour,\nJe suis absent jusqu'au {back:%d/%m/%Y}.\nPour toute urgence : Jean.\n",
                     headers={"Auto-Submitted": "auto-replied"},
                     files=[("logo.pdf", "application/pdf", PDF)])
        await deliver(mail, port=mailer.inbound_port, sender="", recipients=[address])
        [event] = await mailer.reports.wait_for_replies("a-ooo-1")
        assert event.data["kind"] == "auto_reply"
        assert event.data["return_date"] == back.isoformat()
        assert event.data["attachments"] == []

    async def test_an_out_of_office_sent_to_the_bounce_address_is_read_as_one(self, mailer: Mailer) -> None:
        request = email_request(7, key_prefix="inb", to="marie@dupont.example", client_id="c-inbound",
                                action_id="a-ooo-2", purpose=EmailPurpose.CLIENT, automatic=False)
        await mailer.requests.publish([request])
        await mailer.reports.wait_for(request.request_id)
        back = SystemClock().today() + timedelta(days=9)
        bounces = f"bounces+{send_id_for(TENANT, request.idempotency_key)}@{INBOUND_DOMAIN}"
        mail = reply(sender="Marie Dupont <marie@dupont.example>", to=bounces, subject="Out of Office: Relance",
                     text=f"I am away and back on {back.day} {back:%B %Y}.\n", headers={"X-Autoreply": "yes"})
        await deliver(mail, port=mailer.inbound_port, sender="", recipients=[bounces])
        [event] = await mailer.reports.wait_for_replies("a-ooo-2")
        assert (event.data["kind"], event.data["return_date"], event.data["link_id"]) == (
            "auto_reply", back.isoformat(), None)
        row = await mailer.row(request.request_id)
        assert row["state"] == "sent"  # an auto-reply is not a bounce


class TestBounces:
    async def test_a_bounce_fails_the_send_suppresses_the_address_and_reports_once(self, mailer: Mailer) -> None:
        request = email_request(8, key_prefix="inb", to="gone@client8.example", cc=[Recipient(email="ok@client8.example")])
        await mailer.requests.publish([request])
        await mailer.reports.wait_for(request.request_id)
        bounces = f"bounces+{send_id_for(TENANT, request.idempotency_key)}@{INBOUND_DOMAIN}"
        dsn = standard_bounce(to=bounces, recipient="gone@client8.example")
        for _ in range(2):  # the remote MTA sends it twice
            await deliver(dsn, port=mailer.inbound_port, sender="", recipients=[bounces])

        row = await mailer.row(request.request_id)
        reason = ("bounced: 5.1.1 550 5.1.1 <gone@client8.example>: Recipient address rejected: User unknown")
        assert (row["state"], row["bounced"], row["missed"]) == ("sent", ["gone@client8.example"],
                                                                 {"gone@client8.example": reason})
        delivered, failed = sorted(await mailer.reports.wait_for(request.request_id, 2), key=lambda e: e.type)
        assert failed.type == "arf.email.failed.v1"
        assert (failed.data["kind"], failed.data["reason"], failed.data["smtp_code"]) == ("permanent", reason, 550)
        assert failed.data["recipients"] == ["gone@client8.example"]
        failures = await database_rows(mailer, "outbox", {"type": "arf.email.failed.v1", "key": f"{TENANT}:c-8"})
        assert len([row for row in failures if request.request_id in row["value"]]) == 1
        async with httpx.AsyncClient(base_url=mailer.base_url, headers=mailer.auth()) as http:
            listed = {entry["email"]: entry for entry in (await http.get("/suppressions")).json()}
        assert (listed["gone@client8.example"]["source"], listed["gone@client8.example"]["scope"]) == ("bounce", "all")
        assert "ok@client8.example" not in listed

    async def test_a_send_whose_only_recipient_bounced_is_failed(self, mailer: Mailer) -> None:
        request = email_request(9, key_prefix="inb", to="nobody@client9.example")
        await mailer.requests.publish([request])
        await mailer.reports.wait_for(request.request_id)
        bounces = f"bounces+{send_id_for(TENANT, request.idempotency_key)}@{INBOUND_DOMAIN}"
        qmail = (f"From: MAILER-DAEMON@mx.client9.example\r\nTo: {bounces}\r\nSubject: failure notice\r\n\r\n"
                 "Hi. This is the qmail-send program at mx.client9.example.\r\nI'm afraid I wasn't able to deliver "
                 "your message to the following addresses.\r\nThis is a permanent error; I've given up.\r\n\r\n"
                 "<nobody@client9.example>:\r\n192.0.2.1 does not like recipient.\r\n"
                 "Remote host said: 550 5.1.1 mailbox unavailable\r\n").encode()
        await deliver(qmail, port=mailer.inbound_port, sender="", recipients=[bounces])
        row = await mailer.row(request.request_id)
        assert row["state"] == "failed"
        assert row["failure"]["reason"] == "bounced: 5.1.1 Remote host said: 550 5.1.1 mailbox unavailable"


class TestUnsubscribe:
    async def test_an_unsubscribe_mail_stops_automatic_emails_to_its_sender(self, mailer: Mailer) -> None:
        request = email_request(10, key_prefix="inb", to="payables@client10.example")
        await mailer.requests.publish([request])
        await mailer.reports.wait_for(request.request_id)
        unsubscribe = f"unsubscribe+{send_id_for(TENANT, request.idempotency_key)}@{INBOUND_DOMAIN}"
        await deliver(reply(sender="payables@client10.example", to=unsubscribe, subject="unsubscribe", text="stop"),
                      port=mailer.inbound_port, sender="payables@client10.example", recipients=[unsubscribe])
        async with httpx.AsyncClient(base_url=mailer.base_url, headers=mailer.auth()) as http:
            listed = {entry["email"]: entry for entry in (await http.get("/suppressions")).json()}
        entry = listed["payables@client10.example"]
        assert (entry["source"], entry["scope"]) == ("unsubscribe", "automatic")


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, INBOUND_DOMAIN)])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


@asynccontextmanager
async def second_listener(mailer: Mailer, infra: Infrastructure, **overrides: Any) -> AsyncIterator[int]:
    """Another listener on the mailer's database (no Kafka: the outbox is only written), on its own port."""
    port = free_port()
    settings = mailer_settings(infra, Isolation.new(), mailer.sink, mail_inbound_port=port, **overrides)
    client: AsyncMongoClient = create_mongo_client(settings, appname="test-inbound")
    db = client[mailer.database]
    outbox = Outbox(db, source="/services/mailer", topics=mailer.topics, clock=SystemClock())
    deps = Inbound(uow=mongo_unit_of_work(client, db, outbox), files=MongoReplyFiles(db), clock=SystemClock(),
                   keys=mailer.keys, limits=settings.attachment_limits(),
                   claim_ttl=timedelta(seconds=settings.mail_inbound_claim_ttl_s),
                   public_base_url=settings.public_base_url)
    task = asyncio.create_task(InboundListener(deps=deps, settings=settings,
                                               metrics=MailerMetrics(Metrics("mailer"))).run())
    try:
        await wait_listening(port)
        yield port
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()


class TestListener:
    async def test_starttls_is_offered_and_an_oversized_message_is_refused(self, mailer: Mailer, infra: Infrastructure,
                                                                           tmp_path: Path) -> None:
        request = email_request(11, key_prefix="inb", to="big@client11.example")
        await mailer.requests.publish([request])
        await mailer.reports.wait_for(request.request_id)
        bounces = f"bounces+{send_id_for(TENANT, request.idempotency_key)}@{INBOUND_DOMAIN}"
        big = b"Subject: big\r\n\r\n" + (b"x" * 76 + b"\r\n") * 100
        cert, key = self_signed_certificate(tmp_path)
        async with second_listener(mailer, infra, mail_inbound_max_bytes=4096, mail_inbound_tls_cert_file=str(cert),
                                   mail_inbound_tls_key_file=str(key)) as port, \
                aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10, start_tls=False,
                                validate_certs=False) as client:
            await client.ehlo()
            assert client.supports_extension("starttls") and client.supports_extension("size")
            await client.starttls()
            assert client.get_transport_info("sslcontext") is not None
            with pytest.raises(aiosmtplib.SMTPSenderRefused) as declared:  # SIZE said so: refused at MAIL
                await client.sendmail("", [bounces], big)
            assert declared.value.code == 552
            await client.mail("")  # a client that does not declare the size: refused after DATA
            await client.rcpt(bounces)
            with pytest.raises(aiosmtplib.SMTPDataError) as sent:
                await client.data(big)
            assert sent.value.code == 552
        assert (await mailer.row(request.request_id))["state"] == "sent"

    async def test_without_its_database_the_listener_asks_senders_to_try_again_later(
            self, mailer: Mailer, infra: Infrastructure) -> None:
        address, _ = await interactive_email(mailer, 12, action_id="a-later-1")
        unreachable = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
        async with second_listener(mailer, infra, mongodb_url=unreachable, mongodb_timeout_ms=300) as port:
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as caught:
                await deliver(reply(sender=SALES, to=address), port=port, sender=SALES, recipients=[address])
        [error] = caught.value.recipients
        assert (error.code, error.message) == (451, "4.3.0 Temporary failure; try again later")
        await deliver(reply(sender=SALES, to=address), port=mailer.inbound_port, sender=SALES, recipients=[address])
        assert len(await mailer.reports.wait_for_replies("a-later-1")) == 1
