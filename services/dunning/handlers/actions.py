"""Specific actions: kept from their events for the agenda, queued for their date, and run on it (the
decision, the run mark, the history line and the events commit in one unit of work)."""

from datetime import date

from services.dunning.domain.action_runs import decide_action_run
from services.dunning.domain.history import HistoryEntry
from services.dunning.domain.messages import CompanyProfile
from services.dunning.domain.progress import plan_action, run_key
from services.dunning.domain.state import ClientState, RunState
from services.dunning.ports import DunningUnitOfWork, Tx
from shared.contracts.actions import ActionChanged
from shared.contracts.dunning import ScheduledActionExecuted
from shared.contracts.envelope import Envelope
from shared.platform.clock import Clock
from shared.ports import Flow


async def on_action_changed(event: ActionChanged, envelope: Envelope, tx: Tx, *, clock: Clock) -> None:
    """Keep the specific action for the agenda; an automatic one is queued for its date (once per date)."""
    tenant_id = envelope.tenant_id
    current = await tx.actions.action(tenant_id, event.action.action_id)
    planned = plan_action(current, event.action)
    if planned is not None:
        await tx.actions.save_action(tenant_id, planned)


async def run_action(tenant_id: str, action_id: str, *, as_of: date, uow: DunningUnitOfWork, clock: Clock,
                     default_company: str = "") -> str | None:
    """Run the action if it is still pending and its date has come; returns the outcome, or None."""

    async def work(tx: Tx) -> str | None:
        state = await tx.actions.action(tenant_id, action_id)
        if state is None or state.run_state is not RunState.PENDING or state.run_on > as_of:
            return None
        action = state.action
        items = await tx.items.items_by_id(tenant_id, action.item_ids)
        client = await tx.clients.client(tenant_id, action.client_id) or ClientState(client_id=action.client_id)
        statuses = await tx.clients.status_rules(tenant_id)
        company = await tx.scenarios.company(tenant_id) or CompanyProfile(name=default_company or tenant_id)
        outcome, reason, email = decide_action_run(state, items, client, statuses, company, tenant_id, as_of)
        await tx.actions.save_action(tenant_id, state.model_copy(update={
            "run_state": RunState(outcome.value), "runs": [*state.runs, run_key(action)]}))
        event = ScheduledActionExecuted(
            client_id=action.client_id, action_id=action.action_id, action_version=action.version,
            scheduled_for=action.scheduled_for, outcome=outcome, reason=reason, item_ids=action.item_ids,
            email_request_id=email.request_id if email else None, confirmed_by=state.confirmed_by,
        )
        await tx.records.add_history([HistoryEntry(
            entry_id=f"{tenant_id}|action|{run_key(action)}", tenant_id=tenant_id, client_id=action.client_id,
            kind=f"action_{outcome.value}", text=f"{action.type.value} {action.name!r}: {reason}",
            item_ids=action.item_ids, at=clock.now(), action_id=action.action_id,
        )])
        await tx.publisher.action_executed(event, email)
        return outcome.value

    return await uow.run(work, flow=Flow(tenant_id))
