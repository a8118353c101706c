"""The dunning publisher: domain-named methods that stage events in the outbox, in the caller's transaction."""

from collections.abc import Sequence

from pymongo.asynchronous.client_session import AsyncClientSession

from services.dunning.domain.decisions import StepRecord
from shared.contracts.dunning import DunningStepRecorded, ScheduledActionExecuted
from shared.contracts.email import EmailRequested
from shared.contracts.envelope import Envelope, EventPayload
from shared.platform.outbox import Outbox


def step_recorded(record: StepRecord) -> DunningStepRecorded:
    return DunningStepRecorded(
        client_id=record.client_id, scenario_code=record.scenario_code, step_code=record.step_code,
        action_type=record.step_type.action_type, due_on=record.due_on, item_ids=record.item_ids,
        outcome=record.outcome, reason=f"{record.reason_code.value}: {record.reason}",
        email_request_id=record.email_request_id,
    )


class DunningPublisher:
    """Stages what dunning tells the other services; only this class knows envelopes and keys."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def steps_recorded(
        self, session: AsyncClientSession, tenant_id: str, records: Sequence[StepRecord],
        emails: Sequence[EmailRequested], *, correlation_id: str | None = None,
    ) -> None:
        """The email requests first, then the records that mention them (same client key: same order)."""
        payloads: list[tuple[str, EventPayload]] = [(email.client_id, email) for email in emails]
        payloads += [(record.client_id, step_recorded(record)) for record in records]
        await self._stage(session, tenant_id, payloads, correlation_id)

    async def action_executed(
        self, session: AsyncClientSession, tenant_id: str, event: ScheduledActionExecuted,
        email: EmailRequested | None, *, correlation_id: str | None = None,
    ) -> None:
        payloads: list[tuple[str, EventPayload]] = [(event.client_id, email)] if email else []
        payloads.append((event.client_id, event))
        await self._stage(session, tenant_id, payloads, correlation_id)

    async def _stage(self, session: AsyncClientSession, tenant_id: str, payloads: list[tuple[str, EventPayload]],
                     correlation_id: str | None) -> None:
        envelopes: list[Envelope] = [
            self.outbox.envelope(payload, tenant_id=tenant_id, key_id=client_id, correlation_id=correlation_id)
            for client_id, payload in payloads
        ]
        await self.outbox.stage(session, envelopes)

    def committed(self) -> None:
        self.outbox.notify_committed()
