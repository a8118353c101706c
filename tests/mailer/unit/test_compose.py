"""The message is multipart text + HTML built with the `email` package, with the headers a relay
and a mail client expect, and no request field can add a header."""

import email
import email.policy
from datetime import UTC, datetime

from services.mailer.domain.compose import FetchedAttachment, Headers, as_bytes, compose_message, wants_list_unsubscribe
from services.mailer.domain.compose import SenderIdentity
from services.mailer.domain.sends import addressees, new_send
from shared.contracts.email import AttachmentRef, EmailPurpose
from shared.contracts.values import Recipient
from shared.templating import RenderedEmail
from tests.mailer.samples import email_request

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
IDENTITY = SenderIdentity(from_address="ar@acme.example", reply_to="credit@acme.example")


def build(*, subject: str = "Relance", name: str | None = "Marie Dupont", automatic: bool = True,
          unsubscribe: str | None = None, attachments: tuple[FetchedAttachment, ...] = (),
          company: str = "Acme Industries", reply_to: str | None = None) -> email.message.EmailMessage:
    request = email_request(1, to="marie@dupont.example", automatic=automatic)
    send = new_send(request, tenant_id="acme", event_id="e", correlation_id="c", envelope_json="{}", now=NOW,
                    inbound_domain="in.acme.example", message_id_domain="in.acme.example")
    rendered = RenderedEmail(language="fr", subject=subject, text="Bonjour é\n", html="<p>Bonjour é</p>")
    people = addressees([Recipient(email="marie@dupont.example", name=name)],
                        [Recipient(email="compta@dupont.example")], [])
    headers = Headers(identity=IDENTITY, company_name=company, reply_to=reply_to, date=NOW, unsubscribe=unsubscribe)
    built = compose_message(send, rendered=rendered, addressees=people, headers=headers, attachments=attachments)
    return email.message_from_bytes(as_bytes(built), policy=email.policy.default)  # as the recipient parses it


class TestCompose:
    def test_headers_identify_the_sender_the_send_and_its_language(self) -> None:
        message = build()
        assert message["From"] == "Acme Industries <ar@acme.example>"
        assert message["Reply-To"] == "credit@acme.example"
        assert message["To"] == "Marie Dupont <marie@dupont.example>"
        assert message["Cc"] == "compta@dupont.example"
        assert message["Date"] == "Mon, 02 Mar 2026 09:30:00 +0000"
        assert message["Message-ID"].endswith("@in.acme.example>")
        assert message["Content-Language"] == "fr"

    def test_a_reply_to_named_by_the_request_wins_over_the_tenants(self) -> None:
        assert build(reply_to="jean.martin@acme.example")["Reply-To"] == "jean.martin@acme.example"

    def test_automatic_emails_say_so_and_personal_ones_do_not(self) -> None:
        assert build(automatic=True)["Auto-Submitted"] == "auto-generated"
        assert build(automatic=False)["Auto-Submitted"] is None

    def test_list_unsubscribe_applies_to_automatic_client_emails_only(self) -> None:
        assert wants_list_unsubscribe(purpose=EmailPurpose.DUNNING_REMINDER, automatic=True)
        assert not wants_list_unsubscribe(purpose=EmailPurpose.CLIENT, automatic=False)
        assert not wants_list_unsubscribe(purpose=EmailPurpose.INTERNAL_INTERACTIVE, automatic=True)
        message = build(unsubscribe="unsubscribe+abc@in.acme.example")
        assert message["List-Unsubscribe"] == "<mailto:unsubscribe+abc@in.acme.example?subject=unsubscribe>"

    def test_the_body_is_a_text_part_then_an_html_part(self) -> None:
        message = build()
        assert message.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
        assert message.get_body(("plain",)).get_content().splitlines() == ["Bonjour é"]
        assert message.get_body(("html",)).get_content().splitlines() == ["<p>Bonjour é</p>"]

    def test_attachments_are_added_with_a_safe_filename(self) -> None:
        ref = AttachmentRef(attachment_id="a1", filename="../../etc/Facture F-001.pdf",
                            content_type="application/pdf", size=8, url="http://files.example/a1")
        message = build(attachments=(FetchedAttachment(ref, b"%PDF-1.7"),))
        assert message.get_content_type() == "multipart/mixed"
        [attachment] = list(message.iter_attachments())
        assert attachment.get_filename() == "Facture F-001.pdf"
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_content() == b"%PDF-1.7"

    def test_no_field_can_inject_a_header(self) -> None:
        message = build(subject="Relance\r\nBcc: thief@evil.example", name="Marie\r\nBcc: thief@evil.example",
                        company="Acme\nX-Injected: yes")
        raw = message.as_string()
        assert message["Bcc"] is None and message["X-Injected"] is None
        assert "\nBcc:" not in raw and "\nX-Injected:" not in raw
        assert message["Subject"] == "Relance Bcc: thief@evil.example"
