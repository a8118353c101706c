"""The ledger's rules: what each SMTP outcome does to a send, when it is tried again, the ids
derived from the request, and who receives an email."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.mailer.domain.sends import (
    Outcome,
    RetryPolicy,
    Send,
    SendState,
    UnknownPolicy,
    Verdict,
    addressees,
    backoff_delay,
    decide,
    message_id_for,
    new_send,
    send_id_for,
    send_id_from_address,
    verdict_for_code,
    verp_address,
)
from shared.contracts.email import FailureKind
from shared.contracts.values import Recipient
from tests.mailer.samples import email_request

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(initial_s=60, max_s=1800, max_attempts=3, max_age=timedelta(days=2))


def pending(attempts: int = 0, created_at: datetime = NOW) -> Send:
    send = new_send(email_request(1, to="marie@dupont.example"), tenant_id="acme", event_id="e1",
                    correlation_id="c1", envelope_json="{}", now=created_at, inbound_domain="in.acme.example",
                    message_id_domain="in.acme.example")
    return send.model_copy(update={"attempts": attempts, "state": SendState.SENDING})


def decided(outcome: Outcome, *, send: Send | None = None, suppressed: tuple[str, ...] = (),
            unknown: UnknownPolicy = UnknownPolicy.HOLD, now: datetime = NOW):  # noqa: ANN201
    return decide(send or pending(), outcome, suppressed=suppressed, policy=POLICY, unknown_policy=unknown, now=now,
                  rng=random.Random(7))


class TestIds:
    def test_the_same_request_always_gets_the_same_send_id_message_id_and_bounce_address(self) -> None:
        first, again = pending(), pending()
        assert first.send_id == again.send_id == send_id_for("acme", "req-key-1")
        assert first.message_id == message_id_for(first.send_id, "in.acme.example")
        assert first.envelope_from == f"bounces+{first.send_id}@in.acme.example"

    def test_the_idempotency_key_is_per_tenant(self) -> None:
        assert send_id_for("acme", "k") != send_id_for("globex", "k")

    def test_a_bounce_address_maps_back_to_its_send_only_on_our_domain(self) -> None:
        send_id = send_id_for("acme", "k")
        assert send_id_from_address(verp_address(send_id, "in.acme.example"), "in.acme.example") == send_id
        assert send_id_from_address(f"<BOUNCES+{send_id.upper()}@IN.ACME.EXAMPLE>", "in.acme.example") == send_id
        assert send_id_from_address(verp_address(send_id, "evil.example"), "in.acme.example") is None
        assert send_id_from_address("bounces+nothex@in.acme.example", "in.acme.example") is None


class TestOutcomes:
    @pytest.mark.parametrize(("code", "verdict"), [(250, Verdict.DELIVERED), (421, Verdict.TEMPORARY),
                                                   (451, Verdict.TEMPORARY), (550, Verdict.PERMANENT),
                                                   (554, Verdict.PERMANENT), (0, Verdict.TEMPORARY)])
    def test_reply_codes(self, code: int, verdict: Verdict) -> None:
        assert verdict_for_code(code) is verdict

    def test_delivered_is_sent_and_reported_to_the_accepted_recipients(self) -> None:
        decision = decided(Outcome(Verdict.DELIVERED, "250 OK", 250, accepted=("marie@dupont.example",)))
        assert decision.state is SendState.SENT
        assert decision.attempts == 1
        assert [(r.recipients, r.failure) for r in decision.reports] == [(("marie@dupont.example",), None)]

    def test_refused_and_suppressed_recipients_of_a_delivered_email_are_reported_failed(self) -> None:
        outcome = Outcome(Verdict.DELIVERED, "250 OK", 250, accepted=("a@x.example",),
                          refused={"b@x.example": "550 5.1.1 no such user"})
        decision = decided(outcome, suppressed=("c@x.example",))
        delivered, failed = decision.reports
        assert delivered.recipients == ("a@x.example",)
        assert failed.recipients == ("b@x.example", "c@x.example")
        assert failed.failure is not None and failed.failure.kind is FailureKind.PERMANENT
        assert "550 5.1.1 no such user" in failed.failure.reason and "suppression" in failed.failure.reason

    def test_a_permanent_refusal_fails_at_once_with_the_smtp_reply(self) -> None:
        decision = decided(Outcome(Verdict.PERMANENT, "every recipient was refused: 550 no such user", 550))
        assert decision.state is SendState.FAILED
        assert decision.failure is not None and decision.failure.smtp_code == 550
        assert decision.reports[0].failure is not None
        assert decision.reports[0].failure.kind is FailureKind.PERMANENT
        assert not decision.dead_letter

    def test_a_temporary_failure_is_tried_again_later_without_a_report(self) -> None:
        decision = decided(Outcome(Verdict.TEMPORARY, "451 try later", 451))
        assert decision.state is SendState.PENDING
        assert decision.attempts == 1
        assert decision.next_attempt_at is not None and NOW + timedelta(seconds=30) <= decision.next_attempt_at
        assert decision.reports == ()

    def test_the_last_temporary_failure_exhausts_the_budget_dead_letters_and_reports(self) -> None:
        decision = decided(Outcome(Verdict.TEMPORARY, "451 try later", 451), send=pending(attempts=2))
        assert decision.state is SendState.FAILED
        assert decision.dead_letter
        assert decision.failure is not None and decision.failure.kind is FailureKind.EXHAUSTED
        assert decision.failure.reason == "gave up after 3 attempts: 451 try later"

    def test_a_send_older_than_the_budget_gives_up_even_without_attempts(self) -> None:
        outcome = Outcome(Verdict.TEMPORARY, "not delivered within the retry budget", counts_as_attempt=False)
        decision = decided(outcome, send=pending(created_at=NOW - timedelta(days=3)))
        assert decision.state is SendState.FAILED and decision.dead_letter and decision.attempts == 0

    def test_a_send_handed_back_untried_keeps_its_due_time_and_costs_no_attempt(self) -> None:
        decision = decided(Outcome(Verdict.TEMPORARY, "the mailer is stopping", counts_as_attempt=False))
        assert (decision.state, decision.attempts, decision.next_attempt_at) == (SendState.PENDING, 0, None)

    def test_a_connection_lost_after_data_is_unknown_and_not_resent_by_default(self) -> None:
        decision = decided(Outcome(Verdict.UNKNOWN, "connection lost during DATA"))
        assert decision.state is SendState.UNKNOWN
        assert decision.reports[0].failure is not None
        assert decision.reports[0].failure.kind is FailureKind.UNKNOWN

    def test_the_resend_policy_tries_an_unknown_send_again(self) -> None:
        decision = decided(Outcome(Verdict.UNKNOWN, "connection lost during DATA"), unknown=UnknownPolicy.RESEND)
        assert decision.state is SendState.PENDING and decision.attempts == 1


class TestBackoff:
    def test_delays_grow_exponentially_with_jitter_and_stay_under_the_cap(self) -> None:
        rng = random.Random(1)
        for attempt, step in [(1, 60), (2, 120), (3, 240), (6, 1800), (30, 1800)]:
            delays = {backoff_delay(attempt, initial_s=60, max_s=1800, rng=rng) for _ in range(50)}
            assert all(step / 2 <= delay <= step for delay in delays)
            assert len(delays) > 40  # jittered: sends failing together do not come back together


class TestAddressees:
    def test_suppressed_addresses_are_dropped_case_insensitively_and_duplicates_sent_once(self) -> None:
        people = addressees(
            [Recipient(email="a@x.example"), Recipient(email="B@x.example")],
            [Recipient(email="a@x.example"), Recipient(email="c@x.example")],
            suppressed=["b@x.example"],
        )
        assert people.addresses == ["a@x.example", "c@x.example"]
        assert people.suppressed == ("B@x.example",)
