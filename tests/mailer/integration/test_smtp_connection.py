"""One pooled connection against a real aiosmtpd relay: STARTTLS and AUTH as configured, and the
exact outcome of a transaction for every way SMTP can answer (no Kafka or MongoDB involved)."""

import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosmtplib
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devstack.processes import free_port
from devstack.smtp_sink import Mailbox, start_smtp
from services.mailer.adapters.smtp import SmtpConnection
from services.mailer.config import SmtpSettings
from services.mailer.domain.sends import Verdict
from tests.mailer.integration.conftest import Sink

pytestmark = pytest.mark.integration  # a real SMTP server (aiosmtpd) on a local port

MESSAGE = b"From: ar@acme.example\r\nTo: marie@dupont.example\r\nSubject: test\r\n\r\nHello\r\n"
SENDER = "bounces+0123@inbound.acme.example"


@pytest.fixture(scope="module")
def relay_tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A relay certificate (self-signed, as a test relay has)."""
    folder: Path = tmp_path_factory.mktemp("relay-tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@pytest.fixture
async def secure_sink(relay_tls: ssl.SSLContext) -> AsyncIterator[Sink]:
    sink = Sink(Mailbox(), free_port())
    sink.server = await start_smtp(sink.mailbox, host="127.0.0.1", port=sink.port, tls_context=relay_tls,
                                   credentials=("mailer", "s3cret"))
    try:
        yield sink
    finally:
        await sink.stop()


def settings(port: int, **overrides: object) -> SmtpSettings:
    return SmtpSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_s=5, **overrides)  # type: ignore[arg-type]


class TestConnecting:
    async def test_starttls_and_auth_as_configured(self, secure_sink: Sink) -> None:
        connection = SmtpConnection(settings(secure_sink.port, smtp_starttls="always", smtp_validate_certs=False,
                                             smtp_username="mailer", smtp_password="s3cret"))
        await connection.open()
        outcome = await connection.transact(SENDER, ["marie@dupont.example"], MESSAGE)
        await connection.quit()
        assert outcome.verdict is Verdict.DELIVERED and outcome.smtp_code == 250
        [mail] = secure_sink.mailbox.mails
        assert (mail.tls, mail.login, mail.mail_from) == (True, "mailer", SENDER)

    async def test_a_wrong_password_fails_the_connection_not_an_email(self, secure_sink: Sink) -> None:
        connection = SmtpConnection(settings(secure_sink.port, smtp_starttls="always", smtp_validate_certs=False,
                                             smtp_username="mailer", smtp_password="wrong"))
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await connection.open()
        assert not connection.connected

    async def test_an_unverifiable_certificate_is_refused_by_default(self, secure_sink: Sink) -> None:
        connection = SmtpConnection(settings(secure_sink.port, smtp_starttls="always", smtp_username="mailer",
                                             smtp_password="s3cret"))
        with pytest.raises(ssl.SSLCertVerificationError):
            await connection.open()

    async def test_starttls_always_refuses_a_relay_that_does_not_offer_it(self, sink: Sink) -> None:
        with pytest.raises(aiosmtplib.SMTPException):
            await SmtpConnection(settings(sink.port, smtp_starttls="always")).open()


class TestTransactionOutcomes:
    async def outcome(self, sink: Sink, recipients: list[str]):  # noqa: ANN201
        connection = SmtpConnection(settings(sink.port))
        await connection.open()
        try:
            return await connection.transact(SENDER, recipients, MESSAGE)
        finally:
            connection.close()

    async def test_a_5xx_recipient_is_permanent_with_its_reply(self, sink: Sink) -> None:
        sink.mailbox.recipient_faults["gone@x.example"] = "550 5.1.1 no such user"
        outcome = await self.outcome(sink, ["gone@x.example"])
        assert (outcome.verdict, outcome.smtp_code) == (Verdict.PERMANENT, 550)
        assert outcome.refused == {"gone@x.example": "550 5.1.1 no such user"}

    async def test_a_4xx_recipient_makes_the_whole_email_wait_even_if_others_were_accepted(self, sink: Sink) -> None:
        sink.mailbox.recipient_faults["busy@x.example"] = "451 4.3.0 try later"
        outcome = await self.outcome(sink, ["ok@x.example", "busy@x.example"])
        assert (outcome.verdict, outcome.smtp_code) == (Verdict.TEMPORARY, 451)
        assert sink.mailbox.mails == []

    async def test_a_5xx_cc_does_not_stop_the_others(self, sink: Sink) -> None:
        sink.mailbox.recipient_faults["gone@x.example"] = "550 5.1.1 no such user"
        outcome = await self.outcome(sink, ["ok@x.example", "gone@x.example"])
        assert outcome.verdict is Verdict.DELIVERED and outcome.accepted == ("ok@x.example",)
        assert [mail.rcpt_tos for mail in sink.mailbox.mails] == [["ok@x.example"]]

    async def test_a_relay_going_down_mid_session_is_temporary(self, sink: Sink) -> None:
        connection = SmtpConnection(settings(sink.port))
        await connection.open()
        await sink.stop()
        outcome = await connection.transact(SENDER, ["ok@x.example"], MESSAGE)
        assert (outcome.verdict, outcome.smtp_code) == (Verdict.TEMPORARY, 421)
        assert not await connection.usable()

    async def test_a_connection_lost_after_data_is_unknown(self, sink: Sink) -> None:
        sink.mailbox.drop_after_data.add("lost@x.example")
        outcome = await self.outcome(sink, ["lost@x.example"])
        assert outcome.verdict is Verdict.UNKNOWN
        assert len(sink.mailbox.mails) == 1  # it did arrive: the sender just cannot know
