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
from shared.platform.unit_of_work import MongoUnitOfWork
from shared.ports import Flow, UnitOfWork
from services.followups.handlers import events, replies, runs
from services.followups.handlers.context import Deps
from services.followups.ports import Tx

CONSUMER_GROUP = "followups"
OnEvent = Callable[[Any, Envelope, Tx], Awaitable[None]]


def subscribe(runtime: ServiceRuntime, deps: Deps) -> None:
    router = runtime.event_router(CONSUMER_GROUP)
    router.on(EmailDelivered, joined(events.on_email_delivered, deps.uow))
    router.on(EmailFailed, joined(events.on_email_failed, deps.uow))
    # Not transactional: a reply's attachments are fetched over HTTP; the reply id makes it idempotent.
    router.on(ReplyReceived, alone(partial(replies.on_reply_received, deps=deps)), transactional=False)
    router.on(DunningStepRecorded, joined(events.on_dunning_step, deps.uow))
    router.on(ScheduledActionExecuted, joined(partial(runs.on_scheduled_action_executed, deps=deps), deps.uow))


def joined(handler: OnEvent, uow: UnitOfWork[Tx]) -> Callable[[EventPayload, EventContext], Awaitable[None]]:
    """The handler in the consumer's transaction; offline (fakes, no session) in a unit of work of its own."""
    async def handle(payload: EventPayload, ctx: EventContext) -> None:
        if isinstance(uow, MongoUnitOfWork) and ctx.session is not None:
            await handler(payload, ctx.envelope, uow.joined(ctx))
            return
        await uow.run(lambda tx: handler(payload, ctx.envelope, tx), flow=Flow.caused_by(ctx.envelope))
    return handle


def alone(handler: Callable[[Any, Envelope], Awaitable[None]]) -> Callable[[EventPayload, EventContext],
                                                                           Awaitable[None]]:
    """A handler that runs its own units of work: it gets the event and its envelope only."""
    async def handle(payload: EventPayload, ctx: EventContext) -> None:
        await handler(payload, ctx.envelope)
    return handle
