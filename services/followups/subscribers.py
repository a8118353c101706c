"""The followups consumer group: decode, skip duplicates (the platform's router), call the handler."""

from functools import partial

from shared.contracts.dunning import DunningStepRecorded, ScheduledActionExecuted
from shared.contracts.email import EmailDelivered, EmailFailed, ReplyReceived
from shared.platform.runtime import ServiceRuntime
from services.followups.handlers import events, replies, runs
from services.followups.handlers.context import Deps

CONSUMER_GROUP = "followups"


def subscribe(runtime: ServiceRuntime, deps: Deps) -> None:
    router = runtime.event_router(CONSUMER_GROUP)
    router.on(EmailDelivered, partial(events.on_email_delivered, deps=deps))
    router.on(EmailFailed, partial(events.on_email_failed, deps=deps))
    # Not transactional: a reply's attachments are fetched over HTTP; the reply id makes it idempotent.
    router.on(ReplyReceived, partial(replies.on_reply_received, deps=deps), transactional=False)
    router.on(DunningStepRecorded, partial(events.on_dunning_step, deps=deps))
    router.on(ScheduledActionExecuted, partial(runs.on_scheduled_action_executed, deps=deps))
