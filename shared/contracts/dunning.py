"""Events of the dunning service: what each scenario step did, and why."""

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from shared.contracts.envelope import EventPayload
from shared.contracts.topics import Stream
from shared.contracts.values import ActionType, Identifier


class StepOutcome(StrEnum):
    SENT = "sent"  # an automatic step went out (email request published)
    IN_AGENDA = "in_agenda"  # a manual or to-be-confirmed step waits for the collector
    SKIPPED = "skipped"  # suppressed, with a reason


class DunningStepRecorded(EventPayload):
    """A scenario step came due for items of one client. Producer: dunning. Consumer: followups."""

    event_type: ClassVar[str] = "arf.dunning.step-recorded"
    stream: ClassVar[Stream] = Stream.DUNNING

    client_id: Identifier
    scenario_code: str
    step_code: str
    action_type: ActionType
    due_on: date
    item_ids: list[Identifier] = Field(min_length=1)
    outcome: StepOutcome
    reason: str | None = None
    email_request_id: str | None = None
