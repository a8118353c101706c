"""Unit twins of the inbound rules (`integration/test_inbound.py`), on fakes through the listener's SMTP
hooks: a colleague's reply becomes ReplyReceived (stripped text, files behind a signed claim check),
once per mail; forged, expired and wrong-sender replies are refused and publish nothing; an
out-of-office is an auto-reply with its return date; a bounce fails the send, suppresses the address
and reports it once; an unsubscribe mail stops automatic emails."""

from dataclasses import replace
from datetime import timedelta
from typing import Any

from aiosmtpd.smtp import Envelope as SmtpEnvelope

from services.mailer.domain.sends import SendState, send_id_for
from shared.contracts.email import EmailPurpose
from shared.contracts.values import Recipient
from shared.links import LinkKeys, new_link_key_setting
from shared.platform.clock import SystemClock
from tests.mailer.mails import PDF, grant, reply, reply_address, standard_bounce
from tests.mailer.samples import email_request
from tests.mailer.unit.conftest import INBOUND_DOMAIN, PUBLIC_URL, TENANT, OfflineMailer

SALES = "sales.manager@acme.example"
OK = "250 2.1.5 OK"
ACCEPTED = "250 2.0.0 OK"


async def interactive_email(mailer: OfflineMailer, n: int, *, action_id: str, recipient: str = SALES,
                            forwarding_allowed: bool = False) -> tuple[str, Any]:
    """Send an internal interactive email whose Reply-To is a reply address; wait until it is delivered."""
    link = grant(action_id, recipient, forwarding_allowed=forwarding_allowed)
    address = reply_address(link, mailer.keys, INBOUND_DOMAIN)
    request = email_request(n, key_prefix="inb", to=recipient, client_id="c-inbound", action_id=action_id,
                            purpose=EmailPurpose.INTERNAL_INTERACTIVE, automatic=False, reply_to=address)
    [envelope] = await mailer.publish([request])
    [delivered] = await mailer.reports(request.request_id)
    assert delivered.payload.type_name() == "arf.email.delivered.v1"
    return address, (link, envelope)


async def sent_email(mailer: OfflineMailer, n: int, **request: Any) -> tuple[str, str]:
    """A delivered email to a client: its bounce and unsubscribe addresses."""
    sent = email_request(n, key_prefix="inb", **request)
    await mailer.publish([sent])
    await mailer.reports(sent.request_id)
    send_id = send_id_for(TENANT, sent.idempotency_key)
    return f"bounces+{send_id}@{INBOUND_DOMAIN}", f"unsubscribe+{send_id}@{INBOUND_DOMAIN}"


class TestReplies:
    async def test_a_reply_with_an_attachment_becomes_a_comment_with_its_file_once(self, mailer: OfflineMailer) -> None:
        address, (link, request_envelope) = await interactive_email(mailer, 1, action_id="a-reply-1")
        mail = reply(sender="Paul Sales <Sales.Manager@acme.example>", to=address, files=[
            ("..\\..\\Windows\\credit-note.pdf", "application/pdf", PDF),
            ("setup.exe", "application/octet-stream", b"MZ\x90\x00 not a document"),
        ])
        assert await mailer.smtp(mail, sender=SALES, recipients=[address]) == [OK, ACCEPTED]

        [event] = mailer.fakes.replies("a-reply-1")
        data = event.payload
        assert data.kind == "reply" and data.from_email == SALES and data.link_id == link.link_id
        assert data.text == ("Approved: please issue the credit note.\n\nPaul\n\n"
                             "[setup.exe: not kept, application/octet-stream files are not accepted]")
        assert (data.client_id, event.key_id, event.flow.tenant_id) == ("c-inbound", "c-inbound", TENANT)
        assert event.flow.correlation_id == request_envelope.correlation_id
        [file] = data.attachments
        assert (file.filename, file.content_type, file.size) == ("credit-note.pdf", "application/pdf", len(PDF))
        path = file.url.removeprefix(PUBLIC_URL)
        assert path.startswith("/inbound/files/c1.k1.")
        async with mailer.http() as http:
            fetched = await http.get(path)
            assert fetched.status_code == 200 and fetched.content == PDF
            assert fetched.headers["content-type"] == "application/pdf"
            assert 'filename="credit-note.pdf"' in fetched.headers["content-disposition"]
            headed = await http.head(path)  # its own operation: the headers, no content
            assert headed.status_code == 200 and headed.content == b""
            assert headed.headers["content-length"] == str(len(PDF))
            assert headed.headers["content-disposition"] == fetched.headers["content-disposition"]
            forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
            assert (await http.get(forged)).status_code == 403

        assert await mailer.smtp(mail, sender=SALES, recipients=[address]) == [OK, ACCEPTED]  # the MTA tries again
        assert len(mailer.fakes.replies("a-reply-1")) == 1
        assert len([r for r in mailer.fakes.state.records.values() if r.action_id == "a-reply-1"]) == 1

    async def test_an_html_only_reply_is_converted_to_text(self, mailer: OfflineMailer) -> None:
        address, _ = await interactive_email(mailer, 2, action_id="a-reply-2")
        html = ("<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
                "<p>Refused &amp; closed:<br>the price was agreed in <b>January</b>.</p>"
                "<div class=\"gmail_quote\"><div>On Mon, 2 Mar 2026 at 10:00, Acme &lt;ar@acme.example&gt; wrote:</div>"
                "<blockquote>Please approve</blockquote></div></body></html>")
        await mailer.smtp(reply(sender=SALES, to=address, text="", html=html), sender=SALES, recipients=[address])
        [event] = mailer.fakes.replies("a-reply-2")
        assert event.payload.text == "Refused & closed:\nthe price was agreed in January."

    async def test_forged_expired_and_unknown_reply_addresses_are_refused_at_rcpt(self, mailer: OfflineMailer) -> None:
        address, (link, _) = await interactive_email(mailer, 3, action_id="a-reply-3")
        local, _, domain = address.partition("@")
        other_keys = LinkKeys.parse(new_link_key_setting("k1"))
        refused = {
            "altered token": f"{local[:-2]}{'ab' if not local.endswith('ab') else 'cd'}@{domain}",
            "signed with another key": reply_address(link, other_keys, INBOUND_DOMAIN),
            "expired": reply_address(grant("a-reply-3", SALES, days=-1), mailer.keys, INBOUND_DOMAIN),
            "another tenant's link": reply_address(grant("a-reply-3", SALES, tenant_id="globex"), mailer.keys,
                                                   INBOUND_DOMAIN),
            "not a reply address": f"ceo@{INBOUND_DOMAIN}",
        }
        answers = {case: (await mailer.smtp(reply(sender=SALES, to=recipient), sender=SALES,
                                            recipients=[recipient]))[0] for case, recipient in refused.items()}
        assert answers == {
            "altered token": "550 5.7.1 this reply address is not valid",
            "signed with another key": "550 5.7.1 this reply address is not valid",
            "expired": "550 5.7.1 this reply address has expired; use the link in the email",
            "another tenant's link": "550 5.1.1 no such reply address",
            "not a reply address": "550 5.1.1 No such address here",
        }
        assert mailer.fakes.replies("a-reply-3") == []

    async def test_a_reply_from_another_address_is_refused_unless_forwarding_is_allowed(
            self, mailer: OfflineMailer) -> None:
        address, _ = await interactive_email(mailer, 4, action_id="a-reply-4")
        answers = await mailer.smtp(reply(sender="intruder@elsewhere.example", to=address), sender=SALES,
                                    recipients=[address])  # the envelope is the recipient's: From decides
        assert answers == [OK, "550 5.7.1 this reply address belongs to another recipient"]
        assert mailer.fakes.replies("a-reply-4") == []

        forwardable, _ = await interactive_email(mailer, 5, action_id="a-reply-5", forwarding_allowed=True)
        await mailer.smtp(reply(sender="assistant@acme.example", to=forwardable), sender="assistant@acme.example",
                          recipients=[forwardable])
        [event] = mailer.fakes.replies("a-reply-5")
        assert event.payload.from_email == "assistant@acme.example"

    async def test_replies_by_email_are_refused_without_link_keys(self, mailer: OfflineMailer) -> None:
        address, _ = await interactive_email(mailer, 13, action_id="a-nokeys")
        handler = mailer.inbound()
        handler.deps = replace(handler.deps, keys=None)
        answer = await handler.handle_RCPT(None, None, SmtpEnvelope(), address, [])  # type: ignore[arg-type]
        assert answer == "550 5.7.1 replies by email are not enabled here"


class TestAutoReplies:
    async def test_an_out_of_office_is_an_auto_reply_with_its_return_date_not_a_comment(
            self, mailer: OfflineMailer) -> None:
        address, _ = await interactive_email(mailer, 6, action_id="a-ooo-1")
        back = SystemClock().today() + timedelta(days=20)
        mail = reply(sender=SALES, to=address, subject="Réponse automatique : Avoir à valider",
                     text=f"Bonjour,\nJe suis absent jusqu'au {back:%d/%m/%Y}.\nPour toute urgence : Jean.\n",
                     headers={"Auto-Submitted": "auto-replied"}, files=[("logo.pdf", "application/pdf", PDF)])
        await mailer.smtp(mail, sender="", recipients=[address])
        [event] = mailer.fakes.replies("a-ooo-1")
        assert (event.payload.kind, event.payload.return_date, event.payload.attachments) == ("auto_reply", back, [])

    async def test_an_out_of_office_sent_to_the_bounce_address_is_read_as_one(self, mailer: OfflineMailer) -> None:
        bounces, _ = await sent_email(mailer, 7, to="marie@dupont.example", client_id="c-inbound", action_id="a-ooo-2",
                                      purpose=EmailPurpose.CLIENT, automatic=False)
        back = SystemClock().today() + timedelta(days=9)
        mail = reply(sender="Marie Dupont <marie@dupont.example>", to=bounces, subject="Out of Office: Relance",
                     text=f"I am away and back on {back.day} {back:%B %Y}.\n", headers={"X-Autoreply": "yes"})
        await mailer.smtp(mail, sender="", recipients=[bounces])
        [event] = mailer.fakes.replies("a-ooo-2")
        assert (event.payload.kind, event.payload.return_date, event.payload.link_id) == ("auto_reply", back, None)
        assert mailer.fakes.send_of("inb-7").state is SendState.SENT  # an auto-reply is not a bounce

    async def test_an_auto_reply_to_a_dunning_reminder_is_only_noted(self, mailer: OfflineMailer) -> None:
        bounces, _ = await sent_email(mailer, 14, to="away@dupont.example")
        await mailer.smtp(reply(sender="away@dupont.example", to=bounces, subject="Out of Office",
                                text="Back next week.", headers={"X-Autoreply": "yes"}), sender="", recipients=[bounces])
        assert mailer.fakes.replies("a-14") == []
        assert mailer.fakes.send_of("inb-14").history[-1].note == "auto-reply from away@dupont.example: noted"


class TestBounces:
    async def test_a_bounce_fails_the_send_suppresses_the_address_and_reports_once(self, mailer: OfflineMailer) -> None:
        bounces, _ = await sent_email(mailer, 8, to="gone@client8.example", cc=[Recipient(email="ok@client8.example")])
        dsn = standard_bounce(to=bounces, recipient="gone@client8.example")
        for _ in range(2):  # the remote MTA sends it twice
            assert await mailer.smtp(dsn, sender="", recipients=[bounces]) == [OK, ACCEPTED]

        send = mailer.fakes.send_of("inb-8")
        reason = "bounced: 5.1.1 550 5.1.1 <gone@client8.example>: Recipient address rejected: User unknown"
        assert (send.state, send.bounced, send.missed) == (SendState.SENT, ["gone@client8.example"],
                                                           {"gone@client8.example": reason})
        delivered, failed = sorted(mailer.fakes.reports("inb-8"), key=lambda p: p.payload.type_name())
        assert (failed.payload.kind, failed.payload.reason, failed.payload.smtp_code) == ("permanent", reason, 550)
        assert failed.payload.recipients == ["gone@client8.example"] and failed.key_id == "c-8"
        async with mailer.http() as http:
            listed = {entry["email"]: entry for entry in (await http.get("/suppressions")).json()}
        assert (listed["gone@client8.example"]["source"], listed["gone@client8.example"]["scope"]) == ("bounce", "all")
        assert "ok@client8.example" not in listed

    async def test_a_send_whose_only_recipient_bounced_is_failed(self, mailer: OfflineMailer) -> None:
        bounces, _ = await sent_email(mailer, 9, to="nobody@client9.example")
        qmail = (f"From: MAILER-DAEMON@mx.client9.example\r\nTo: {bounces}\r\nSubject: failure notice\r\n\r\n"
                 "Hi. This is the qmail-send program at mx.client9.example.\r\nI'm afraid I wasn't able to deliver "
                 "your message to the following addresses.\r\nThis is a permanent error; I've given up.\r\n\r\n"
                 "<nobody@client9.example>:\r\n192.0.2.1 does not like recipient.\r\n"
                 "Remote host said: 550 5.1.1 mailbox unavailable\r\n").encode()
        await mailer.smtp(qmail, sender="", recipients=[bounces])
        send = mailer.fakes.send_of("inb-9")
        assert send.state is SendState.FAILED
        assert send.failure is not None
        assert send.failure.reason == "bounced: 5.1.1 Remote host said: 550 5.1.1 mailbox unavailable"

    async def test_a_bounce_for_an_email_still_being_sent_is_deferred(self, mailer: OfflineMailer) -> None:
        mailer.fakes.relay.down = True
        await mailer.publish([email_request(15, key_prefix="inb", to="early@client15.example")])
        bounces = f"bounces+{send_id_for(TENANT, 'inb-key-15')}@{INBOUND_DOMAIN}"
        dsn = standard_bounce(to=bounces, recipient="early@client15.example")
        assert await mailer.smtp(dsn, sender="", recipients=[bounces]) == [
            OK, "451 4.3.0 that email is still being sent; try again later"]

    async def test_an_unknown_send_is_refused_at_rcpt(self, mailer: OfflineMailer) -> None:
        unknown = f"bounces+{'0' * 32}@{INBOUND_DOMAIN}"
        assert await mailer.smtp(b"Subject: x\r\n\r\n", sender="", recipients=[unknown]) == [
            "550 5.1.1 no such address"]


class TestUnsubscribe:
    async def test_an_unsubscribe_mail_stops_automatic_emails_to_its_sender(self, mailer: OfflineMailer) -> None:
        _, unsubscribe = await sent_email(mailer, 10, to="payables@client10.example")
        await mailer.smtp(reply(sender="payables@client10.example", to=unsubscribe, subject="unsubscribe", text="stop"),
                          sender="payables@client10.example", recipients=[unsubscribe])
        async with mailer.http() as http:
            listed = {entry["email"]: entry for entry in (await http.get("/suppressions")).json()}
        entry = listed["payables@client10.example"]
        assert (entry["source"], entry["scope"]) == ("unsubscribe", "automatic")

    async def test_an_unsubscribe_never_narrows_a_hard_bounce(self, mailer: OfflineMailer) -> None:
        _, unsubscribe = await sent_email(mailer, 16, to="both@client16.example")
        async with mailer.http("credit_manager") as http:
            await http.post("/suppressions", json={"email": "both@client16.example", "reason": "bounced"})
        await mailer.smtp(reply(sender="both@client16.example", to=unsubscribe, subject="unsubscribe", text="stop"),
                          sender="both@client16.example", recipients=[unsubscribe])
        async with mailer.http() as http:
            [entry] = [e for e in (await http.get("/suppressions")).json() if e["email"] == "both@client16.example"]
        assert (entry["source"], entry["scope"]) == ("admin", "all")

    async def test_an_unsubscribe_from_someone_who_was_not_a_recipient_is_ignored(self, mailer: OfflineMailer) -> None:
        _, unsubscribe = await sent_email(mailer, 17, to="real@client17.example")
        await mailer.smtp(reply(sender="other@client17.example", to=unsubscribe, subject="unsubscribe", text="stop"),
                          sender="other@client17.example", recipients=[unsubscribe])
        assert mailer.fakes.state.suppressions == {}
        assert "not a recipient: ignored" in mailer.fakes.send_of("inb-17").history[-1].note
