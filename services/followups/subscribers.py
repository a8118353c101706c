"""The followups consumer group: which event goes to which handler (decoding and skipping duplicates are
the platform router's). A transactional handler gets the consumer's transaction as a `Tx`, so what it
changes and publishes commits with the record that the event was handled."""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from shared.contracts.dunning import DunningStepRecorded, ScheduledActionExecuted
from shared.contracts.email import EmailDelivered, EmailFailed, ReplyReceived
from shared.contracts.envelope import Envelope, EventPayload
from shared.platform.consumer import EventContext
from shared.platform.runtime import ServiceRuntime
from shared.platform.unit_of_work import in_consumer_transaction
from services.followups.handlers import events, replies, runs
from services.followups.handlers.context import Deps

CONSUMER_GROUP = "followups"


def subscribe(runtime: ServiceRuntime, deps: Deps) -> None:
    router = runtime.event_router(CONSUMER_GROUP)
    router.on(EmailDelivered, in_consumer_transaction(events.on_email_delivered, deps.uow))
    router.on(EmailFailed, in_consumer_transaction(events.on_email_failed, deps.uow))
    # Not transactional: a reply's attachments are fetched over HTTP; the reply id makes it idempotent.
    router.on(ReplyReceived, alone(partial(replies.on_reply_received, deps=deps)), transactional=False)
    router.on(DunningStepRecorded, in_consumer_transaction(events.on_dunning_step, deps.uow))
    router.on(ScheduledActionExecuted, in_consumer_transaction(runs.on_scheduled_action_executed, deps.uow,
                                                               deps=deps))


def alone(handler: Callable[[Any, Envelope], Awaitable[None]]) -> Callable[[EventPayload, EventContext],
                                                                           Awaitable[None]]:
    """A handler that runs its own units of work: it gets the event and its envelope only."""
    async def handle(payload: EventPayload, ctx: EventContext) -> None:
        await handler(payload, ctx.envelope)
    return handle
