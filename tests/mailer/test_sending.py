"""An email request becomes one email in the relay's mailbox, with the right headers, and a
delivery report; a redelivered request sends nothing more."""

import email.policy
from email.message import EmailMessage

from services.mailer.app import create_app
from services.mailer.domain import send_id_for
from shared.contracts.topics import Stream, Topics
from shared.testing.infra import Infrastructure
from shared.testing.kafka import read_topic
from shared.testing.services import Isolation, eventually, serve_app
from tests.mailer.conftest import TENANT, Ledger, Requests, Sink, mailer_settings
from tests.mailer.samples import email_request


class TestSending:
    async def test_request_is_sent_once_with_headers_and_reported_delivered(
        self, infra: Infrastructure, isolation: Isolation, sink: Sink, requests: Requests, ledger: Ledger
    ) -> None:
        app = create_app(mailer_settings(infra, isolation, sink))
        async with serve_app(app):
            [envelope] = await requests.publish([email_request(1, to="marie@dupont.example")])
            await eventually(ledger.states, until=lambda s: s.get("sent") == 1, timeout_s=20)
            await requests.publish([], again=[envelope, envelope])  # redelivered twice
            deliveries = await read_topic(infra, Topics(isolation.topic_prefix)(Stream.EMAIL_DELIVERIES), expect=1)
        assert len(sink.mailbox.mails) == 1
        mail = sink.mailbox.mails[0]
        message: EmailMessage = mail.message
        send_id = send_id_for(TENANT, "req-key-1")
        assert message["Message-ID"] == f"<{send_id}@inbound.acme.example>"
        assert mail.mail_from == f"bounces+{send_id}@inbound.acme.example"
        assert message["From"] == "Acme Industries <ar@acme.example>"
        assert message["Reply-To"] == "credit@acme.example"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Subject"] == "Relance : 3 pièces pour Dupont & Fils"
        print(deliveries)
