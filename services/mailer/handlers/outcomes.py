"""Writing what happened to a batch of claimed sends: ledger states, delivery reports, dead letters.

One unit of work per batch updates the ledger rows (only where the claim is still ours) and stages
their EmailDelivered / EmailFailed; a request whose retries ran out is first put on the dead-letter
topic (raising, when the broker cannot take it, before anything is written: the batch is tried again).
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.mailer.domain.sends import Decision, Finished, RetryPolicy, UnknownPolicy, decide, finish_for
from services.mailer.ports import MailerTx, RequestDeadLetters
from shared.ports import Flow, UnitOfWork

# A batch holds sends of many tenants: each report carries the flow of its own request (the publisher
# builds it from the send), so the unit of work's own flow names no tenant.
BATCH_FLOW = Flow(tenant_id="")


@dataclass(frozen=True)
class OutcomeRules:
    """How outcomes are decided: the retry budget and what an unknown outcome does."""

    policy: RetryPolicy
    unknown_policy: UnknownPolicy


async def record_outcomes(batch: Sequence[Finished], *, uow: UnitOfWork[MailerTx], dead_letters: RequestDeadLetters,
                          rules: OutcomeRules, owner: str, now: datetime, rng: random.Random) -> list[Decision]:
    """Decide and write the outcomes of `batch`; the decisions, in its order, once written."""
    decided = [(finished, decide(finished.job.send, finished.outcome, suppressed=finished.job.suppressed,
                                 policy=rules.policy, unknown_policy=rules.unknown_policy, now=now, rng=rng))
               for finished in batch]
    for finished, decision in decided:
        if decision.dead_letter:
            send = finished.job.send.model_copy(update={"attempts": decision.attempts})
            await dead_letters.send(send, reason=decision.note, at=now)
    finishes = [finish_for(finished, decision, now=now, owner=owner) for finished, decision in decided]
    reports = [(finished.job.send, report) for finished, decision in decided for report in decision.reports]

    async def work(tx: MailerTx) -> None:
        # Reports first: staging touches the outbox's per-client counters, which the relay also
        # writes; touched at the start of the transaction, a concurrent relay write waits for
        # our commit instead of aborting us after the (longer) ledger update.
        await tx.publisher.delivery_reports(reports, at=now)
        await tx.sends.finish(finishes, now=now)

    await uow.run(work, flow=BATCH_FLOW)
    return [decision for _, decision in decided]
