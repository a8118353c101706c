"""Automatic actions run by dunning on their date (`ScheduledActionExecuted`), reflected on the action here.

Executed: the action is done, its items re-enter the scenario, and `ActionChanged(executed)` tells the other
services. Deleted (rule 7 on its date): deleted with dunning's reason, unless this service already did it.
Skipped: the action stays open, its history says why nothing went. The change and the events it causes
commit in the transaction that records the event as handled; `judge_run` makes a stale run harmless.
"""

import logging

from shared.contracts.dunning import ScheduledActionExecuted
from shared.contracts.receivables import ReattachReason
from shared.contracts.values import SYSTEM
from shared.contracts.envelope import Envelope
from services.followups.domain import actions as act
from services.followups.domain.actions import Action
from services.followups.domain.history import EntryKind
from services.followups.domain.runs import RunEffect, RunVerdict, judge_run
from services.followups.handlers.changes import Changes
from services.followups.handlers.context import Deps
from services.followups.ports import Tx

log = logging.getLogger(__name__)


async def on_scheduled_action_executed(event: ScheduledActionExecuted, envelope: Envelope, tx: Tx, *,
                                       deps: Deps) -> None:
    """Apply dunning's run to the action as it is now; a run of another tenant's or an unknown action is skipped."""
    tenant = envelope.tenant_id
    action = await tx.actions.get(tenant, event.action_id)
    if action is None or action.client_id != event.client_id:
        log.info("run of unknown action %s (client %s) of %s skipped", event.action_id, event.client_id, tenant)
        return
    verdict = judge_run(action, event)
    if verdict.effect is RunEffect.NOTHING:
        log.info("run of action %s of %s changes nothing: %s", action.action_id, tenant, verdict.why)
        return
    changes = Changes(tenant_id=tenant, actor=SYSTEM, now=deps.clock.now())
    await _apply(verdict, action, event, envelope, tx, changes=changes)
    await changes.save(tx)


async def _apply(verdict: RunVerdict, action: Action, event: ScheduledActionExecuted, envelope: Envelope, tx: Tx, *,
                 changes: Changes) -> None:
    tenant = changes.tenant_id
    run = {"scheduled_for": event.scheduled_for.isoformat(), "executed_version": event.action_version,
           "outcome": event.outcome.value, "reason": event.reason, "email_request_id": event.email_request_id,
           "confirmed_by": event.confirmed_by, "ran_at": envelope.time.isoformat()}
    if verdict.effect is RunEffect.NOTE_SKIPPED:
        changes.note(act.note(action, EntryKind.EXECUTION_SKIPPED, actor=SYSTEM, now=changes.now, text=event.reason,
                              data=run, client_level=True))
        return
    if verdict.effect is RunEffect.NOTE_IGNORED:
        changes.note(act.note(action, EntryKind.EXECUTION_IGNORED, actor=SYSTEM, now=changes.now, text=verdict.why,
                              data=run))
        return
    held = await tx.items.held_by(tenant, action.client_id, action.action_id)
    if verdict.effect is RunEffect.EXECUTE:
        confirmed_by = event.confirmed_by or await _confirmed_here_by(tenant, action, tx)
        change = act.execute(action, executed_version=event.action_version, email_request_id=event.email_request_id,
                             confirmed_by=confirmed_by, reason=event.reason, now=changes.now)
        changes.end_action(change, held, ReattachReason.ACTION_EXECUTED)
        return
    # Rule 7 as dunning saw it on the date; the items go back the way this service's own rule 7 sends them.
    reason = ReattachReason.ITEM_CLOSED if all(item.closed for item in held) else \
        ReattachReason.ACTION_DELETED
    changes.end_action(act.delete(action, reason=event.reason, actor=SYSTEM, now=changes.now, automatic=True),
                       held, reason)


async def _confirmed_here_by(tenant: str, action: Action, tx: Tx) -> str | None:
    """Who confirmed the action in this service (dunning names only those who confirmed from its agenda)."""
    entry = await tx.history.latest(tenant, action.action_id, EntryKind.CONFIRMED.value)
    return entry.actor.id or entry.actor.email if entry else None
