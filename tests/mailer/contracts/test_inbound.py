"""The inbound side's contract: reply routes (idempotent, never taken over by another tenant), one
record per reply, and reply files served to their tenant only."""

from datetime import date

import pytest

from services.mailer.domain.inbound.mail import InboundRecord, ReplyRoute
from services.mailer.ports import AlreadyReceived
from tests.mailer.contracts.conftest import T0, World


def route(tenant_id: str = "acme", action_id: str | None = "a-1") -> ReplyRoute:
    return ReplyRoute(key="k" * 32, tenant_id=tenant_id, client_id="c-1", action_id=action_id, send_id="s" * 32,
                      request_event_id="e-1", correlation_id="corr-1", created_at=T0)


async def test_a_route_is_recorded_again_idempotently_and_never_for_another_tenant(world: World) -> None:
    assert await world.tx.routes.record(route()) is True
    assert await world.tx.routes.record(route()) is True
    assert await world.tx.routes.record(route("globex")) is False
    assert await world.tx.routes.find("acme", "k" * 32) == route()
    assert await world.tx.routes.find("globex", "k" * 32) is None


async def test_a_reply_is_recorded_once(world: World) -> None:
    record = InboundRecord(reply_id="r1", tenant_id="acme", kind="auto_reply", link_id=None, client_id="c-1",
                           action_id="a-1", from_email="p@acme.example", message_id="<m1@x>", received_at=T0,
                           files=["r1-1"], refused=[{"filename": "setup.exe", "reason": "not accepted"}],
                           return_date=date(2026, 3, 20), event_id="e-9")
    assert await world.tx.records.seen("r1") is False
    await world.uow.run(lambda tx: tx.records.add(record), flow=_flow())
    assert await world.tx.records.seen("r1") is True
    with pytest.raises(AlreadyReceived):
        await world.uow.run(lambda tx: tx.records.add(record), flow=_flow())


async def test_a_reply_file_is_served_to_its_tenant_only_and_stored_again_whole(world: World) -> None:
    await world.files.store("r1-1", tenant_id="acme", filename="note.pdf", content_type="application/pdf",
                            content=b"%PDF-1 first", now=T0)
    await world.files.store("r1-1", tenant_id="acme", filename="note.pdf", content_type="application/pdf",
                            content=b"%PDF-1 again", now=T0)  # an attempt that did not finish, retried
    stored = await world.files.describe("acme", "r1-1")
    assert stored is not None
    assert (stored.filename, stored.content_type, stored.length) == ("note.pdf", "application/pdf", 12)
    assert b"".join([chunk async for chunk in world.files.content("r1-1")]) == b"%PDF-1 again"
    assert await world.files.describe("globex", "r1-1") is None
    assert await world.files.describe("acme", "r1-2") is None


def _flow():  # noqa: ANN202
    from shared.ports import Flow

    return Flow("acme", "corr-test")
