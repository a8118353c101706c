"""Unit twins of the delivery rules (`integration/test_delivery.py`), on fakes: each request is sent once
with the right headers and reported; every kind of SMTP trouble ends where the ledger's rules say
(sent, failed with the reply, retried, exhausted → dead letter, unknown → resent only by a person);
a relay that is down spends no attempt."""

import asyncio
import email
import email.policy

from services.mailer.domain.sends import SendState, send_id_for
from shared.contracts.email import AttachmentRef, EmailPurpose
from shared.contracts.values import Recipient, TemplateVariant
from tests.mailer.samples import email_request
from tests.mailer.unit.conftest import TENANT, OfflineMailer, eventually

PDF = b"%PDF-1.7 a small invoice"


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


class TestDelivered:
    async def test_request_is_sent_once_with_its_attachment_and_reported_delivered(self, mailer: OfflineMailer) -> None:
        mailer.fakes.downloads.files["http://files.example/invoice.pdf"] = PDF
        attachment = AttachmentRef(attachment_id="att-1", filename="invoice.pdf", content_type="application/pdf",
                                   size=len(PDF), url="http://files.example/invoice.pdf")
        request = email_request(1, to="marie@dupont.example", attachments=[attachment],
                                cc=[Recipient(email="compta@dupont.example")])
        [envelope] = await mailer.publish([request])
        [report] = await mailer.reports("req-1")
        await mailer.publish([], again=[envelope, envelope])  # redelivered twice
        await asyncio.sleep(0.05)

        [mail] = mailer.fakes.relay.to("marie@dupont.example")
        send_id = send_id_for(TENANT, "req-key-1")
        message = parsed(mail.data)
        assert list(mail.recipients) == ["marie@dupont.example", "compta@dupont.example"]
        assert mail.sender == f"bounces+{send_id}@inbound.acme.example"
        assert message["Message-ID"] == f"<{send_id}@inbound.acme.example>"
        assert message["From"] == "Acme Industries <ar@acme.example>"
        assert message["Reply-To"] == "credit@acme.example"
        assert message["To"] == "Contact 1 <marie@dupont.example>"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["List-Unsubscribe"] == f"<mailto:unsubscribe+{send_id}@inbound.acme.example?subject=unsubscribe>"
        assert message["Subject"] == "Relance : 3 pièces pour Dupont & Fils"
        assert "Bonjour Marie Dupont" in message.get_body(("plain",)).get_content()
        [pdf] = list(message.iter_attachments())
        assert (pdf.get_filename(), pdf.get_content()) == ("invoice.pdf", PDF)

        assert report.payload.type_name() == "arf.email.delivered.v1"
        assert report.flow.causation_id == envelope.id and report.flow.correlation_id == envelope.correlation_id
        assert (report.flow.tenant_id, report.key_id) == (TENANT, request.client_id)
        assert report.payload.recipients == ["marie@dupont.example", "compta@dupont.example"]
        assert report.payload.message_id == message["Message-ID"]
        send = mailer.fakes.send_of("req-1")
        assert (send.state, send.attempts, send.missed) == (SendState.SENT, 1, {})
        assert len(mailer.fakes.reports("req-1")) == 1

    async def test_a_refused_cc_does_not_stop_the_email_to_the_others(self, mailer: OfflineMailer) -> None:
        mailer.fakes.relay.recipient_faults["gone@dupont.example"] = "550 5.1.1 no such user"
        await mailer.publish([email_request(2, to="paul@dupont.example", cc=[Recipient(email="gone@dupont.example")])])
        delivered, failed = sorted(await mailer.reports("req-2", 2), key=lambda p: p.payload.type_name())
        assert delivered.payload.recipients == ["paul@dupont.example"]
        assert failed.payload.type_name() == "arf.email.failed.v1"
        assert failed.payload.recipients == ["gone@dupont.example"]
        assert "550 5.1.1 no such user" in failed.payload.reason
        assert len(mailer.fakes.relay.to("paul@dupont.example")) == 1


class TestFailures:
    async def test_a_permanently_refused_address_fails_at_once_with_the_smtp_reply(self, mailer: OfflineMailer) -> None:
        mailer.fakes.relay.recipient_faults["nobody@dupont.example"] = "550 5.1.1 no such user"
        await mailer.publish([email_request(3, to="nobody@dupont.example")])
        [failed] = await mailer.reports("req-3")
        assert (failed.payload.kind, failed.payload.smtp_code) == ("permanent", 550)
        assert "550 5.1.1 no such user" in failed.payload.reason
        send = mailer.fakes.send_of("req-3")
        assert (send.state, send.attempts) == (SendState.FAILED, 1)
        assert mailer.fakes.relay.to("nobody@dupont.example") == []

    async def test_a_temporary_refusal_is_retried_with_backoff_until_delivered(self, mailer: OfflineMailer) -> None:
        mailer.fakes.relay.recipient_faults["busy@dupont.example"] = "451 4.3.0 try again later"
        await mailer.publish([email_request(4, to="busy@dupont.example")])
        send = await mailer.send_when("req-4", lambda send: send.attempts >= 1)
        assert "451 4.3.0" in send.history[-1].note
        del mailer.fakes.relay.recipient_faults["busy@dupont.example"]
        [delivered] = await mailer.reports("req-4")
        assert delivered.payload.type_name() == "arf.email.delivered.v1"
        send = mailer.fakes.send_of("req-4")
        assert send.state is SendState.SENT and send.attempts >= 2
        assert len(mailer.fakes.relay.to("busy@dupont.example")) == 1

    async def test_when_retries_run_out_the_request_is_dead_lettered_and_reported(self, mailer: OfflineMailer) -> None:
        mailer.fakes.relay.recipient_faults["full@dupont.example"] = "452 4.2.2 mailbox full"
        mailer.fakes.dead_letters.broker_down = True  # the first write of the outcome fails: kept and retried
        await mailer.publish([email_request(5, to="full@dupont.example")])
        await eventually(lambda: mailer.fakes.send_of("req-5").attempts >= 2)
        await asyncio.sleep(0.05)
        mailer.fakes.dead_letters.broker_down = False
        [failed] = await mailer.reports("req-5")
        assert (failed.payload.kind, failed.payload.smtp_code) == ("exhausted", 452)
        assert failed.payload.reason.startswith("gave up after 3 attempts: a recipient was refused for now: 452")
        [(dead, reason)] = mailer.fakes.dead_letters.letters
        assert (dead.request_id, dead.attempts) == ("req-5", 3) and reason.startswith("gave up after 3 attempts")
        assert mailer.fakes.send_of("req-5").state is SendState.FAILED

    async def test_a_connection_lost_after_data_is_unknown_not_resent_and_the_owner_may_resend(
        self, mailer: OfflineMailer
    ) -> None:
        mailer.fakes.relay.drop_after_data.add("lost@dupont.example")
        await mailer.publish([email_request(6, to="lost@dupont.example")])
        [failed] = await mailer.reports("req-6")
        assert failed.payload.kind == "unknown" and failed.payload.message_id
        mailer.fakes.relay.drop_after_data.clear()
        await mailer.publish([email_request(60, to="after@dupont.example")])  # the relay works on
        await mailer.reports("req-60")
        assert len(mailer.fakes.relay.to("lost@dupont.example")) == 1  # it did arrive, and was not sent again

        async with mailer.http("collector") as http:
            unknown = (await http.get("/sends", params={"state": "unknown"})).json()
            assert [send["request_id"] for send in unknown] == ["req-6"]
            response = await http.post(f"/sends/{unknown[0]['send_id']}/resend")
            assert response.status_code == 202, response.text
            again = await http.post(f"/sends/{unknown[0]['send_id']}/resend")
            assert again.status_code == 409  # pending now: nothing to decide twice
        await mailer.send_when("req-6", lambda send: send.state is SendState.SENT)
        copies = mailer.fakes.relay.to("lost@dupont.example")
        assert len(copies) == 2 and parsed(copies[0].data)["Message-ID"] == parsed(copies[1].data)["Message-ID"]

    async def test_a_suppressed_address_is_never_sent_to(self, mailer: OfflineMailer) -> None:
        async with mailer.http("credit_manager") as http:
            for address, scope in (("bounced@dupont.example", "all"), ("optout@dupont.example", "automatic")):
                response = await http.post("/suppressions", json={"email": address, "reason": "test", "scope": scope})
                assert response.status_code == 201, response.text
        await mailer.publish([
            email_request(7, to="bounced@dupont.example", automatic=False, purpose=EmailPurpose.CLIENT),
            email_request(8, to="optout@dupont.example"),
            email_request(9, to="optout@dupont.example", automatic=False, purpose=EmailPurpose.CLIENT),
        ])
        [bounced] = await mailer.reports("req-7")
        [opted_out] = await mailer.reports("req-8")
        [personal] = await mailer.reports("req-9")
        assert bounced.payload.kind == opted_out.payload.kind == "permanent"
        assert "suppression list" in bounced.payload.reason
        assert personal.payload.type_name() == "arf.email.delivered.v1"  # an unsubscribe stops automatic emails only
        assert mailer.fakes.relay.to("bounced@dupont.example") == []
        assert len(mailer.fakes.relay.to("optout@dupont.example")) == 1

    async def test_a_client_email_using_the_internal_link_fails_without_being_sent(self, mailer: OfflineMailer) -> None:
        variants = {"en": TemplateVariant(subject="Case", body="Open #link_url")}
        await mailer.publish([email_request(10, to="client@dupont.example", variants=variants,
                                            purpose=EmailPurpose.CLIENT)])
        [failed] = await mailer.reports("req-10")
        assert failed.payload.kind == "permanent"
        assert "#link_url is only for internal interactive emails" in failed.payload.reason
        assert mailer.fakes.relay.to("client@dupont.example") == []

    async def test_an_attachment_that_cannot_be_fetched_fails_the_send(self, mailer: OfflineMailer) -> None:
        missing = AttachmentRef(attachment_id="att-9", filename="gone.pdf", content_type="application/pdf", size=10,
                                url="http://files.example/gone.pdf")
        await mailer.publish([email_request(11, to="files@dupont.example", attachments=[missing])])
        [failed] = await mailer.reports("req-11")
        assert failed.payload.kind == "permanent" and "HTTP 404" in failed.payload.reason


class TestRelayDown:
    async def test_no_attempt_is_spent_while_the_relay_is_down_and_each_email_goes_once_after(
        self, mailer: OfflineMailer
    ) -> None:
        mailer.fakes.relay.down = True
        await mailer.publish([email_request(n, to=f"burst{n}@dupont.example") for n in range(20, 30)])
        await asyncio.sleep(0.2)
        assert {(row.send.state, row.send.attempts) for row in mailer.fakes.state.sends.values()} == {
            (SendState.PENDING, 0)}
        mailer.fakes.relay.down = False
        for n in range(20, 30):
            await mailer.reports(f"req-{n}")
        assert sorted(len(mailer.fakes.relay.to(f"burst{n}@dupont.example")) for n in range(20, 30)) == [1] * 10
