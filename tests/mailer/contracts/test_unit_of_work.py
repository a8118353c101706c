"""The unit of work's contract for the mailer: all or nothing (rows and events), and each event in the
flow of the email it is about, keyed by its client."""

import pytest

from services.mailer.domain.sends import Failure, Report
from shared.contracts.email import FailureKind, ReplyKind, ReplyReceived
from shared.ports import Flow
from tests.mailer.contracts.conftest import T0, Seen, World, a_send


async def test_a_unit_of_work_that_fails_writes_and_publishes_nothing(world: World) -> None:
    send = a_send(1)

    async def work(tx) -> None:  # noqa: ANN001
        await tx.sends.add(send)
        await tx.publisher.delivery_reports([(send, Report(tuple(send.recipients)))], at=T0)
        raise RuntimeError("the relay write failed")

    with pytest.raises(RuntimeError):
        await world.uow.run(work, flow=Flow("acme", "corr-1"))
    assert await world.tx.sends.get("acme", send.send_id) is None
    assert await world.published() == []


async def test_delivery_reports_carry_the_flow_of_their_own_request(world: World) -> None:
    first, second = a_send(1, client_id="c-1"), a_send(2, client_id="c-2", tenant_id="globex")
    failure = Failure(kind=FailureKind.PERMANENT, reason="550 no such user", smtp_code=550)

    async def work(tx) -> None:  # noqa: ANN001
        await tx.publisher.delivery_reports([(first, Report(tuple(first.recipients))),
                                             (second, Report(tuple(second.recipients), failure))], at=T0)

    await world.uow.run(work, flow=Flow(""))
    assert sorted(await world.published(), key=lambda seen: seen.type) == [
        Seen("arf.email.delivered.v1", "acme", "c-1", "corr-1", first.event_id, "req-1"),
        Seen("arf.email.failed.v1", "globex", "c-2", "corr-2", second.event_id, "req-2"),
    ]


async def test_a_reply_is_published_in_the_flow_it_is_given_and_its_id_returned(world: World) -> None:
    reply = ReplyReceived(reply_id="r1", client_id="c-1", action_id="a-1", from_email="p@acme.example",
                          kind=ReplyKind.REPLY, text="ok", attachments=[], return_date=None, received_at=T0,
                          link_id="l-1")
    flow = Flow("acme", "corr-7", "e-7")
    event_id = await world.uow.run(lambda tx: tx.publisher.reply_received(reply, flow=flow), flow=flow)
    assert event_id
    assert await world.published() == [Seen("arf.reply.received.v1", "acme", "c-1", "corr-7", "e-7", "a-1")]


async def test_nothing_is_published_outside_a_unit_of_work(world: World) -> None:
    with pytest.raises(RuntimeError):
        await world.tx.publisher.delivery_reports([(a_send(1), Report(("a@x.example",)))], at=T0)
