"""The dunning publisher: domain-named methods that stage events through the unit of work's outgoing
events (the outbox, in the same transaction); only this module knows which payload goes under which key."""

from collections.abc import Sequence

from services.dunning.domain.decisions import StepRecord
from shared.contracts.dunning import DunningStepRecorded, ScheduledActionExecuted
from shared.contracts.email import EmailRequested
from shared.ports import Keyed, Outgoing


def step_recorded(record: StepRecord) -> DunningStepRecorded:
    """The public event of a step record."""
    return DunningStepRecorded(
        client_id=record.client_id, scenario_code=record.scenario_code, step_code=record.step_code,
        action_type=record.step_type.action_type, due_on=record.due_on, item_ids=record.item_ids,
        outcome=record.outcome, reason=f"{record.reason_code.value}: {record.reason}",
        email_request_id=record.email_request_id,
    )


def steps_recorded_events(records: Sequence[StepRecord], emails: Sequence[EmailRequested]) -> list[Keyed]:
    """The email requests first, then the records that mention them (same client key: same order)."""
    events: list[Keyed] = [(email, email.client_id) for email in emails]
    return events + [(step_recorded(record), record.client_id) for record in records]


def action_executed_events(event: ScheduledActionExecuted, email: EmailRequested | None) -> list[Keyed]:
    """The email request (if any) before the action's outcome that mentions it."""
    return [*([(email, event.client_id)] if email else []), (event, event.client_id)]


class OutboxPublisher:
    """Stages what dunning tells the other services, all events of a call in one outbox write."""

    def __init__(self, outgoing: Outgoing) -> None:
        self.outgoing = outgoing

    async def steps_recorded(self, records: Sequence[StepRecord], emails: Sequence[EmailRequested]) -> None:
        await self.outgoing.stage_all(steps_recorded_events(records, emails))

    async def action_executed(self, event: ScheduledActionExecuted, email: EmailRequested | None) -> None:
        await self.outgoing.stage_all(action_executed_events(event, email))
