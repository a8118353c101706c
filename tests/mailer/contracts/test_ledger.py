"""The send ledger's contract: once per request, claims won by one owner only, outcomes written only
by the claim's holder, what people see of it (tenant-scoped), bounces recorded once."""

from services.mailer.domain.sends import Failure, Finish, SendQuery, SendState
from shared.contracts.email import FailureKind
from tests.mailer.contracts.conftest import T0, World, a_send, later


async def test_a_request_is_recorded_once_and_read_back_by_its_tenant_only(world: World) -> None:
    send = a_send(1)
    assert await world.tx.sends.add(send) is True
    assert await world.tx.sends.add(a_send(1, at=later(5))) is False
    got = await world.tx.sends.get("acme", send.send_id)
    assert got is not None and got.model_dump() == send.model_dump()
    assert got.envelope_json == ""  # what people read leaves the request out
    assert await world.tx.sends.get("globex", send.send_id) is None
    assert (await world.tx.sends.by_id(send.send_id)) == got


async def test_find_filters_by_tenant_and_fields_newest_first(world: World) -> None:
    for n, at in ((1, T0), (2, later(1)), (3, later(2))):
        await world.tx.sends.add(a_send(n, client_id="c-x", at=at))
    await world.tx.sends.add(a_send(4, client_id="c-x", tenant_id="globex", at=later(3)))
    found = await world.tx.sends.find("acme", SendQuery(client_id="c-x"), limit=10)
    assert [send.request_id for send in found] == ["req-3", "req-2", "req-1"]
    assert [s.request_id for s in await world.tx.sends.find("acme", SendQuery(client_id="c-x"), limit=2)] == [
        "req-3", "req-2"]
    assert [s.request_id for s in await world.tx.sends.find("acme", SendQuery(action_id="a-2"), limit=10)] == ["req-2"]
    assert await world.tx.sends.find("acme", SendQuery(state=SendState.SENT), limit=10) == []


async def test_a_due_row_is_claimed_by_one_owner_only(world: World) -> None:
    first, second, future = a_send(1), a_send(2, at=later(1)), a_send(3, at=later(60))
    for send in (first, second, future):
        await world.tx.sends.add(send)
    claimed = await world.tx.sends.claim_ids([first.send_id, future.send_id], owner="w1", now=later(2),
                                             until=later(120))
    assert [send.send_id for send in claimed] == [first.send_id]
    assert claimed[0].state is SendState.SENDING and claimed[0].claim_token
    assert claimed[0].envelope_json == first.envelope_json  # the sender needs the request
    assert await world.tx.sends.claim_ids([first.send_id], owner="w2", now=later(2), until=later(120)) == []
    due = await world.tx.sends.claim_due(owner="w2", limit=10, now=later(2), until=later(120))
    assert [send.send_id for send in due] == [second.send_id]
    assert await world.tx.sends.claim_due(owner="w2", limit=10, now=later(2), until=later(120)) == []


async def test_claim_due_takes_the_oldest_due_first_up_to_the_limit(world: World) -> None:
    sends = [a_send(n, at=later(10 - n)) for n in range(1, 5)]
    for send in sends:
        await world.tx.sends.add(send)
    claimed = await world.tx.sends.claim_due(owner="w1", limit=2, now=later(20), until=later(200))
    assert {send.request_id for send in claimed} == {"req-4", "req-3"}  # in no particular order


async def test_only_the_holder_of_the_claim_writes_the_outcome(world: World) -> None:
    send = a_send(1)
    await world.tx.sends.add(send)
    [claimed] = await world.tx.sends.claim_due(owner="w1", limit=1, now=later(1), until=later(60))
    stale = Finish(send.send_id, "another-token", SendState.FAILED, "stale", True, {})
    sent = Finish(send.send_id, claimed.claim_token, SendState.SENT, "accepted by the relay (250)", True,
                  {"handled_by": "w1", "sent_at": later(2), "missed": {}})
    await world.uow.run(lambda tx: tx.sends.finish([stale], now=later(2)), flow=_flow())
    assert (await world.tx.sends.get("acme", send.send_id)).state is SendState.SENDING
    await world.uow.run(lambda tx: tx.sends.finish([sent], now=later(2)), flow=_flow())
    row = await world.tx.sends.get("acme", send.send_id)
    assert (row.state, row.attempts, row.sent_at, row.handled_by, row.claim_token) == (
        SendState.SENT, 1, later(2), "w1", None)
    assert [(entry.state, entry.note) for entry in row.history] == [
        (SendState.PENDING, "requested"), (SendState.SENT, "accepted by the relay (250)")]


async def test_a_claim_not_renewed_is_taken_over_and_a_renewed_one_is_not(world: World) -> None:
    kept, lost = a_send(1), a_send(2)
    for send in (kept, lost):
        await world.tx.sends.add(send)
    await world.tx.sends.claim_due(owner="w1", limit=2, now=later(1), until=later(10))
    await world.tx.sends.renew([kept.send_id], owner="w1", until=later(100))
    await world.tx.sends.renew([lost.send_id], owner="w2", until=later(100))  # not w2's to renew
    taken = await world.tx.sends.claim_abandoned(owner="w2", limit=10, now=later(20), until=later(200))
    assert [send.send_id for send in taken] == [lost.send_id]


async def test_rows_due_for_longer_than_the_budget_are_claimed_as_overdue(world: World) -> None:
    old, recent = a_send(1), a_send(2, at=later(3600))
    for send in (old, recent):
        await world.tx.sends.add(send)
    overdue = await world.tx.sends.claim_overdue(owner="w1", limit=10, due_before=later(60), now=later(7200),
                                                 until=later(7300))
    assert [send.send_id for send in overdue] == [old.send_id]


async def test_a_bounce_is_recorded_once_per_address_and_fails_the_send_when_told(world: World) -> None:
    send = a_send(1)
    await world.tx.sends.add(send)
    failure = Failure(kind=FailureKind.PERMANENT, reason="bounced: 5.1.1", smtp_code=550)

    async def bounce(failure: Failure | None) -> bool:
        return await world.uow.run(lambda tx: tx.sends.bounced(send, "a@x.example", missed={"a@x.example": "gone"},
                                                                failure=failure, note="a@x.example gone",
                                                                now=later(5)), flow=_flow())

    assert await bounce(None) is True
    assert await bounce(failure) is False
    row = await world.tx.sends.get("acme", send.send_id)
    assert (row.state, row.bounced, row.missed, row.failure) == (SendState.PENDING, ["a@x.example"],
                                                                 {"a@x.example": "gone"}, None)
    other = a_send(2)
    await world.tx.sends.add(other)
    await world.uow.run(lambda tx: tx.sends.bounced(other, "b@x.example", missed={"b@x.example": "gone"},
                                                    failure=failure, note="n", now=later(5)), flow=_flow())
    row = await world.tx.sends.get("acme", other.send_id)
    assert (row.state, row.failure, row.history[-1].state) == (SendState.FAILED, failure, SendState.FAILED)
    await world.uow.run(lambda tx: tx.sends.note(row, "an auto-reply: noted", now=later(6)), flow=_flow())
    assert (await world.tx.sends.get("acme", other.send_id)).history[-1].note == "an auto-reply: noted"


async def test_only_an_unknown_or_failed_send_is_resent_with_its_attempts_reset(world: World) -> None:
    send = a_send(1)
    await world.tx.sends.add(send)
    assert await world.tx.sends.resend("acme", send.send_id, by="u", now=later(1)) is False  # pending
    [claimed] = await world.tx.sends.claim_due(owner="w1", limit=1, now=later(1), until=later(60))
    unknown = Finish(send.send_id, claimed.claim_token, SendState.UNKNOWN, "lost during DATA", True, {})
    await world.uow.run(lambda tx: tx.sends.finish([unknown], now=later(2)), flow=_flow())
    assert await world.tx.sends.resend("globex", send.send_id, by="u", now=later(3)) is False
    assert await world.tx.sends.resend("acme", send.send_id, by="u", now=later(3)) is True
    row = await world.tx.sends.get("acme", send.send_id)
    assert (row.state, row.attempts, row.next_attempt_at, row.failure, row.history[-1].note) == (
        SendState.PENDING, 0, later(3), None, "resend requested by u")


async def test_the_history_keeps_the_last_twenty_lines(world: World) -> None:
    send = a_send(1)
    await world.tx.sends.add(send)
    for n in range(25):
        await world.uow.run(lambda tx, n=n: tx.sends.note(send, f"line {n}", now=later(n)), flow=_flow())
    history = (await world.tx.sends.get("acme", send.send_id)).history
    assert [entry.note for entry in history] == [f"line {n}" for n in range(5, 25)]


def _flow():  # noqa: ANN202
    from shared.ports import Flow

    return Flow("acme", "corr-test")
