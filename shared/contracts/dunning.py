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


class ActionRunOutcome(StrEnum):
    EXECUTED = "executed"  # the action went out on its date (email request published when it sends one)
    DELETED = "deleted"  # every item of the action was closed by its date: deleted instead (rule 7)
    SKIPPED = "skipped"  # could not be executed (no recipient, no channel): the reason says why


class ScheduledActionExecuted(EventPayload):
    """An automatic specific action reached its date and dunning ran it, once.

    Producer: dunning. Consumer: followups (marks the action done, or deletes it under rule 7, and
    writes it in the action's history).
    """

    event_type: ClassVar[str] = "arf.dunning.action-executed"
    stream: ClassVar[Stream] = Stream.DUNNING

    client_id: Identifier
    action_id: Identifier
    action_version: int = Field(ge=1, description="The action version dunning executed")
    scheduled_for: date
    outcome: ActionRunOutcome
    reason: str
    item_ids: list[Identifier] = Field(default_factory=list)
    email_request_id: str | None = None
    confirmed_by: str | None = Field(default=None, description="User who confirmed a to-be-confirmed action")
