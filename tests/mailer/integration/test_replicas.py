"""Several mailer replicas share the ledger: each email is sent by one of them, once; a replica
stopped in the middle of a burst hands its unsent rows back and the others send them."""

from collections import Counter

from services.mailer.app import create_app
from devstack.testing.infra import Infrastructure
from devstack.testing.services import Isolation, eventually, serve_app
from tests.mailer.integration.conftest import Ledger, Requests, Sink, mailer_settings
from tests.mailer.samples import email_request

BURST = 300


async def test_two_replicas_send_each_email_once_even_when_one_stops_midway(
    infra: Infrastructure, isolation: Isolation, sink: Sink, requests: Requests, ledger: Ledger
) -> None:
    settings = mailer_settings(infra, isolation, sink, sender_batch_size=20, smtp_pool_size=2)
    async with serve_app(create_app(settings)):
        async with serve_app(create_app(settings)):
            await requests.publish([email_request(n, key_prefix="replica") for n in range(BURST)])
            await eventually(lambda: _arrived(sink), until=lambda n: n >= BURST // 3, timeout_s=60, interval_s=0.02)
        stopped_at = len(sink.mailbox.mails)  # the second replica is gone; the first carries on
        await eventually(ledger.states, until=lambda states: states.get("sent") == BURST, timeout_s=60,
                         interval_s=0.3)
        rows = await ledger.rows()

    message_ids = Counter(sink.message_ids())
    assert len(message_ids) == BURST and max(message_ids.values()) == 1
    assert len(sink.mailbox.mails) == BURST
    assert stopped_at < BURST
    assert len({row["handled_by"] for row in rows}) == 2  # both replicas sent a share


async def _arrived(sink: Sink) -> int:
    return len(sink.mailbox.mails)
