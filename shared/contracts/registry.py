"""Every event type the system knows, by its versioned type string."""

from shared.contracts.actions import ActionChanged
from shared.contracts.dunning import DunningStepRecorded, ScheduledActionExecuted
from shared.contracts.email import EmailDelivered, EmailFailed, EmailRequested, ReplyReceived
from shared.contracts.envelope import EventPayload
from shared.contracts.receivables import RECEIVABLE_EVENTS

EVENT_TYPES: dict[str, type[EventPayload]] = {
    cls.type_name(): cls
    for cls in (
        *RECEIVABLE_EVENTS,
        ActionChanged,
        DunningStepRecorded,
        ScheduledActionExecuted,
        EmailRequested,
        EmailDelivered,
        EmailFailed,
        ReplyReceived,
    )
}


def payload_class(event_type: str) -> type[EventPayload] | None:
    return EVENT_TYPES.get(event_type)
