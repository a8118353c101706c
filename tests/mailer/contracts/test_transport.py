"""The SMTP transport's contract: what one transaction comes to (delivered, partly refused, refused for
now, refused, unknown after DATA), for the fake relay and for `SmtpConnection` on a real SMTP server."""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from services.mailer.domain.sends import Verdict
from services.mailer.ports import SmtpTransport
from tests.mailer.fakes import FakeRelay

MESSAGE = b"From: ar@acme.example\r\nTo: marie@dupont.example\r\nSubject: test\r\n\r\nHello\r\n"
SENDER = "bounces+0123@inbound.acme.example"


@dataclass
class Relay:
    """A connection, and the faults its relay is told to show (the real sink's or the fake's)."""

    connection: SmtpTransport
    recipient_faults: dict[str, str]
    drop_after_data: set[str]
    received: Callable[[], list[list[str]]]  # the recipients of each message the relay kept


@pytest.fixture(params=["memory", pytest.param("smtp", marks=pytest.mark.integration)])
async def relay(request: pytest.FixtureRequest) -> AsyncIterator[Relay]:
    if request.param == "memory":
        fake = FakeRelay()
        connection = fake.connect()
        await connection.open()
        yield Relay(connection, fake.recipient_faults, fake.drop_after_data,
                    lambda: [list(mail.recipients) for mail in fake.mails])
        return
    from devstack.processes import free_port
    from devstack.smtp_sink import Mailbox, start_smtp, stop_smtp
    from services.mailer.adapters.smtp import SmtpConnection
    from services.mailer.config import SmtpSettings

    mailbox, port = Mailbox(), free_port()
    server = await start_smtp(mailbox, host="127.0.0.1", port=port)
    connection = SmtpConnection(SmtpSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_s=5))
    await connection.open()
    try:
        yield Relay(connection, mailbox.recipient_faults, mailbox.drop_after_data,
                    lambda: [list(mail.rcpt_tos) for mail in mailbox.mails])
    finally:
        connection.close()
        await stop_smtp(server, mailbox)


async def test_a_message_taken_by_the_relay_is_delivered(relay: Relay) -> None:
    outcome = await relay.connection.transact(SENDER, ["marie@dupont.example"], MESSAGE)
    assert (outcome.verdict, outcome.smtp_code, outcome.accepted) == (Verdict.DELIVERED, 250,
                                                                      ("marie@dupont.example",))
    assert relay.received() == [["marie@dupont.example"]]
    assert await relay.connection.usable()


async def test_a_refused_recipient_does_not_stop_the_others(relay: Relay) -> None:
    relay.recipient_faults["gone@dupont.example"] = "550 5.1.1 no such user"
    outcome = await relay.connection.transact(SENDER, ["marie@dupont.example", "gone@dupont.example"], MESSAGE)
    assert outcome.verdict is Verdict.DELIVERED and outcome.accepted == ("marie@dupont.example",)
    assert outcome.refused == {"gone@dupont.example": "550 5.1.1 no such user"}


async def test_a_recipient_refused_for_now_makes_the_whole_message_temporary(relay: Relay) -> None:
    relay.recipient_faults["busy@dupont.example"] = "451 4.3.0 try again later"
    outcome = await relay.connection.transact(SENDER, ["marie@dupont.example", "busy@dupont.example"], MESSAGE)
    assert (outcome.verdict, outcome.smtp_code) == (Verdict.TEMPORARY, 451)
    assert relay.received() == []


async def test_every_recipient_refused_is_permanent(relay: Relay) -> None:
    relay.recipient_faults["gone@dupont.example"] = "550 5.1.1 no such user"
    outcome = await relay.connection.transact(SENDER, ["gone@dupont.example"], MESSAGE)
    assert (outcome.verdict, outcome.smtp_code) == (Verdict.PERMANENT, 550)
    assert outcome.reason == "every recipient was refused: 550 5.1.1 no such user"


async def test_a_connection_lost_after_data_is_unknown(relay: Relay) -> None:
    relay.drop_after_data.add("lost@dupont.example")
    outcome = await relay.connection.transact(SENDER, ["lost@dupont.example"], MESSAGE)
    assert outcome.verdict is Verdict.UNKNOWN and outcome.counts_as_attempt
    assert outcome.reason.startswith("connection lost during DATA, delivery unknown")
    assert relay.received() == [["lost@dupont.example"]]  # it may well have arrived
