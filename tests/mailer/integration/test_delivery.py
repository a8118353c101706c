"""Against one running mailer, a real aiosmtpd relay and the real broker and database: each request
is sent once with the right headers and reported; every kind of SMTP trouble ends where the
ledger's rules say (sent, failed with the reply, retried, exhausted → dead letters, unknown)."""

import httpx

from services.mailer.domain.sends import send_id_for
from shared.contracts.email import AttachmentRef, EmailPurpose
from shared.contracts.envelope import Envelope
from shared.contracts.topics import Stream
from shared.contracts.values import Recipient, TemplateVariant
from devstack.testing.kafka import headers_of, read_topic
from devstack.testing.services import eventually
from tests.mailer.integration.conftest import PDF, TENANT, Mailer
from tests.mailer.samples import email_request


class TestDelivered:
    async def test_request_is_sent_once_with_its_attachment_and_reported_delivered(self, mailer: Mailer) -> None:
        attachment = AttachmentRef(attachment_id="att-1", filename="invoice.pdf", content_type="application/pdf",
                                   size=len(PDF), url=f"{mailer.files_url}/files/invoice.pdf")
        request = email_request(1, to="marie@dupont.example", attachments=[attachment],
                                cc=[Recipient(email="compta@dupont.example")])
        [envelope] = await mailer.requests.publish([request])
        [report] = await mailer.reports.wait_for("req-1")
        before = await mailer.consumed()
        await mailer.requests.publish([], again=[envelope, envelope])  # redelivered twice
        await eventually(mailer.consumed, until=lambda n: n >= before + 2)

        [mail] = mailer.sink.to("marie@dupont.example")
        send_id = send_id_for(TENANT, "req-key-1")
        message = mail.message
        assert mail.rcpt_tos == ["marie@dupont.example", "compta@dupont.example"]
        assert mail.mail_from == f"bounces+{send_id}@inbound.acme.example"
        assert message["Message-ID"] == f"<{send_id}@inbound.acme.example>"
        assert message["From"] == "Acme Industries <ar@acme.example>"
        assert message["Reply-To"] == "credit@acme.example"
        assert message["To"] == "Contact 1 <marie@dupont.example>"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["List-Unsubscribe"] == f"<mailto:unsubscribe+{send_id}@inbound.acme.example?subject=unsubscribe>"
        assert message["Subject"] == "Relance : 3 pièces pour Dupont & Fils"
        assert "Bonjour Marie Dupont" in message.get_body(("plain",)).get_content()
        assert "<table" in message.get_body(("html",)).get_content()
        [pdf] = list(message.iter_attachments())
        assert (pdf.get_filename(), pdf.get_content()) == ("invoice.pdf", PDF)

        assert report.type == "arf.email.delivered.v1"
        assert report.causation_id == envelope.id and report.correlation_id == envelope.correlation_id
        assert report.partitionkey == f"{TENANT}:{request.client_id}"
        assert report.data["action_id"] == "a-1"
        assert report.data["recipients"] == ["marie@dupont.example", "compta@dupont.example"]
        assert report.data["message_id"] == message["Message-ID"]
        row = await mailer.row("req-1")
        assert (row["state"], row["attempts"], row["missed"]) == ("sent", 1, {})
        assert row["recipients"] == request_addresses(request)
        assert len(mailer.reports.of("req-1")) == 1

    async def test_a_refused_cc_does_not_stop_the_email_to_the_others(self, mailer: Mailer) -> None:
        mailer.sink.mailbox.recipient_faults["gone@dupont.example"] = "550 5.1.1 no such user"
        await mailer.requests.publish([email_request(2, to="paul@dupont.example",
                                                     cc=[Recipient(email="gone@dupont.example")])])
        delivered, failed = sorted(await mailer.reports.wait_for("req-2", 2), key=lambda e: e.type)
        assert delivered.type == "arf.email.delivered.v1" and delivered.data["recipients"] == ["paul@dupont.example"]
        assert failed.type == "arf.email.failed.v1" and failed.data["recipients"] == ["gone@dupont.example"]
        assert "550 5.1.1 no such user" in failed.data["reason"]
        assert len(mailer.sink.to("paul@dupont.example")) == 1


class TestFailures:
    async def test_a_permanently_refused_address_fails_at_once_with_the_smtp_reply(self, mailer: Mailer) -> None:
        mailer.sink.mailbox.recipient_faults["nobody@dupont.example"] = "550 5.1.1 no such user"
        await mailer.requests.publish([email_request(3, to="nobody@dupont.example")])
        [failed] = await mailer.reports.wait_for("req-3")
        assert failed.type == "arf.email.failed.v1"
        assert (failed.data["kind"], failed.data["smtp_code"]) == ("permanent", 550)
        assert "550 5.1.1 no such user" in failed.data["reason"]
        assert failed.data["recipients"] == ["nobody@dupont.example"]
        row = await mailer.row("req-3")
        assert (row["state"], row["attempts"]) == ("failed", 1)
        assert mailer.sink.to("nobody@dupont.example") == []

    async def test_a_temporary_refusal_is_retried_with_backoff_until_delivered(self, mailer: Mailer) -> None:
        mailer.sink.mailbox.recipient_faults["busy@dupont.example"] = "451 4.3.0 try again later"
        await mailer.requests.publish([email_request(4, to="busy@dupont.example")])
        row = await mailer.row_when("req-4", lambda r: r["attempts"] >= 1)
        assert row["state"] in ("pending", "sending") and "451 4.3.0" in row["history"][-1]["note"]
        del mailer.sink.mailbox.recipient_faults["busy@dupont.example"]
        [delivered] = await mailer.reports.wait_for("req-4")
        assert delivered.type == "arf.email.delivered.v1"
        row = await mailer.row("req-4")
        assert row["state"] == "sent" and row["attempts"] >= 2
        assert len(mailer.sink.to("busy@dupont.example")) == 1

    async def test_when_retries_run_out_the_request_is_dead_lettered_and_reported(self, mailer: Mailer) -> None:
        mailer.sink.mailbox.recipient_faults["full@dupont.example"] = "452 4.2.2 mailbox full"
        [envelope] = await mailer.requests.publish([email_request(5, to="full@dupont.example")])
        [failed] = await mailer.reports.wait_for("req-5")
        assert (failed.data["kind"], failed.data["smtp_code"]) == ("exhausted", 452)
        assert failed.data["reason"].startswith("gave up after 3 attempts: a recipient was refused for now: 452")
        [dead] = await read_topic(mailer.requests.infra, mailer.topics.dead_letter(Stream.EMAIL_REQUESTS), expect=1)
        assert dead.value == envelope.kafka_value() and dead.key == envelope.partitionkey.encode()  # as received
        assert Envelope.from_kafka(dead.value, headers_of(dead), dead.key) == envelope
        assert headers_of(dead)["dlq_attempts"] == "3" and headers_of(dead)["ce_id"] == envelope.id
        assert (await mailer.row("req-5"))["state"] == "failed"

    async def test_a_connection_lost_after_data_is_unknown_not_resent_and_the_owner_may_resend(
        self, mailer: Mailer
    ) -> None:
        mailer.sink.mailbox.drop_after_data.add("lost@dupont.example")
        await mailer.requests.publish([email_request(6, to="lost@dupont.example")])
        [failed] = await mailer.reports.wait_for("req-6")
        assert failed.data["kind"] == "unknown" and failed.data["message_id"]
        mailer.sink.mailbox.drop_after_data.clear()
        await mailer.requests.publish([email_request(60, to="after@dupont.example")])  # the relay works on
        await mailer.reports.wait_for("req-60")
        assert len(mailer.sink.to("lost@dupont.example")) == 1  # it did arrive, and was not sent again

        async with httpx.AsyncClient(base_url=mailer.base_url, headers=mailer.auth("collector")) as http:
            unknown = (await http.get("/sends", params={"state": "unknown"})).json()
            assert [send["request_id"] for send in unknown] == ["req-6"]
            response = await http.post(f"/sends/{unknown[0]['send_id']}/resend")
            assert response.status_code == 202, response.text
            again = await http.post(f"/sends/{unknown[0]['send_id']}/resend")
            assert again.status_code == 409  # pending now: nothing to decide twice
        await mailer.row_when("req-6", lambda r: r["state"] == "sent")
        copies = mailer.sink.to("lost@dupont.example")
        assert len(copies) == 2 and copies[0].message["Message-ID"] == copies[1].message["Message-ID"]

    async def test_a_suppressed_address_is_never_sent_to(self, mailer: Mailer) -> None:
        async with httpx.AsyncClient(base_url=mailer.base_url, headers=mailer.auth("credit_manager")) as http:
            for email, scope in (("bounced@dupont.example", "all"), ("optout@dupont.example", "automatic")):
                response = await http.post("/suppressions", json={"email": email, "reason": "test", "scope": scope})
                assert response.status_code == 201, response.text
        await mailer.requests.publish([
            email_request(7, to="bounced@dupont.example", automatic=False, purpose=EmailPurpose.CLIENT),
            email_request(8, to="optout@dupont.example"),
            email_request(9, to="optout@dupont.example", automatic=False, purpose=EmailPurpose.CLIENT),
        ])
        [bounced] = await mailer.reports.wait_for("req-7")
        [opted_out] = await mailer.reports.wait_for("req-8")
        [personal] = await mailer.reports.wait_for("req-9")
        assert bounced.data["kind"] == opted_out.data["kind"] == "permanent"
        assert "suppression list" in bounced.data["reason"]
        assert personal.type == "arf.email.delivered.v1"  # an unsubscribe stops automatic emails only
        assert mailer.sink.to("bounced@dupont.example") == []
        assert len(mailer.sink.to("optout@dupont.example")) == 1

    async def test_a_client_email_using_the_internal_link_fails_without_being_sent(self, mailer: Mailer) -> None:
        variants = {"en": TemplateVariant(subject="Case", body="Open #link_url")}
        await mailer.requests.publish([email_request(10, to="client@dupont.example", variants=variants,
                                                     purpose=EmailPurpose.CLIENT)])
        [failed] = await mailer.reports.wait_for("req-10")
        assert failed.data["kind"] == "permanent"
        assert "#link_url is only for internal interactive emails" in failed.data["reason"]
        assert mailer.sink.to("client@dupont.example") == []


def request_addresses(request) -> list[str]:  # noqa: ANN001
    return [recipient.email for recipient in (*request.to, *request.cc)]
