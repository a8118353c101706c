"""Specific actions on their date: an automatic one is sent once; one whose items are all closed is
deleted instead (rule 7). The decision, the run mark and the events commit in one transaction."""

from datetime import date

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.dunning.adapters.publisher import DunningPublisher
from services.dunning.adapters.store import DunningStore
from services.dunning.domain.messages import CompanyProfile, email_request
from services.dunning.domain.progress import run_key
from services.dunning.domain.state import ActionState, ClientState, ItemState, RunState, StatusRule
from shared.contracts.dunning import ActionRunOutcome, ScheduledActionExecuted
from shared.contracts.email import EmailPurpose, EmailRequested, RenderAction
from shared.contracts.values import ActionType
from shared.platform.clock import Clock
from shared.platform.mongo import run_in_transaction

SENDABLE = frozenset({ActionType.EMAIL, ActionType.LETTER})


async def run_action(
    tenant_id: str, action_id: str, *, as_of: date, store: DunningStore, publisher: DunningPublisher,
    mongo: AsyncMongoClient, clock: Clock, default_company: str = "",
) -> str | None:
    """Run the action if it is still pending and its date has come; returns the outcome, or None."""

    async def work(session: AsyncClientSession) -> str | None:
        state = await store.action(tenant_id, action_id, session=session)
        if state is None or state.run_state is not RunState.PENDING or state.run_on > as_of:
            return None
        action = state.action
        items = await store.items_by_id(tenant_id, action.item_ids, session=session)
        client = await store.client(tenant_id, action.client_id, session=session) or ClientState(
            client_id=action.client_id)
        statuses = await store.status_rules(tenant_id, session=session)
        company = await store.company(tenant_id, session=session) or CompanyProfile(name=default_company or tenant_id)
        outcome, reason, email = _decide(state, items, client, statuses, company, tenant_id, as_of)
        await store.save_action(tenant_id, state.model_copy(update={
            "run_state": RunState(outcome.value), "runs": [*state.runs, run_key(action)]}), session=session)
        event = ScheduledActionExecuted(
            client_id=action.client_id, action_id=action.action_id, action_version=action.version,
            scheduled_for=action.scheduled_for, outcome=outcome, reason=reason, item_ids=action.item_ids,
            email_request_id=email.request_id if email else None, confirmed_by=state.confirmed_by,
        )
        await store.add_history([{
            "_id": f"{tenant_id}|action|{run_key(action)}", "tenant_id": tenant_id, "client_id": action.client_id,
            "kind": f"action_{outcome.value}", "text": f"{action.type.value} {action.name!r}: {reason}",
            "item_ids": action.item_ids, "at": clock.now(), "action_id": action.action_id,
        }], session=session)
        await publisher.action_executed(session, tenant_id, event, email)
        return outcome.value

    result = await run_in_transaction(mongo, work)
    if result is not None:
        publisher.committed()
    return result


def _decide(
    state: ActionState, items: dict[str, ItemState], client: ClientState, statuses: dict[str, StatusRule],
    company: CompanyProfile, tenant_id: str, as_of: date,
) -> tuple[ActionRunOutcome, str, EmailRequested | None]:
    action = state.action
    known = [items[item_id] for item_id in action.item_ids if item_id in items]
    if action.item_ids and len(known) == len(action.item_ids) and all(item.closed for item in known):
        return (ActionRunOutcome.DELETED, f"all {len(known)} items were closed by {as_of.isoformat()}: deleted "
                "instead of executed (rule 7)", None)
    if action.type not in SENDABLE:
        return (ActionRunOutcome.SKIPPED, f"a {action.type.value.replace('_', '-')} cannot be performed "
                "automatically: perform it by hand", None)
    content = action.content
    if content is None or not content.variants:
        return ActionRunOutcome.SKIPPED, "the action has no message to send", None
    language = client.language if client.language in content.variants else next(iter(content.variants))
    email = email_request(
        idempotency_key=f"action|{tenant_id}|{run_key(action)}", purpose=EmailPurpose.ACTION, client=client,
        items=[item for item in known if not item.closed], statuses=statuses, variants=content.variants,
        default_language=language, company=company,
        action=RenderAction(action_id=action.action_id, name=action.name, type=action.type,
                            scheduled_for=action.scheduled_for, owner=action.owner),
        as_of=as_of, recipients=list(content.recipients), template_id=content.template_id, action_id=action.action_id,
    )
    if email is None:
        return ActionRunOutcome.SKIPPED, "no recipient: the action names none and the client has no email contact", None
    when = f"scheduled for {action.scheduled_for.isoformat()}"
    who = f", confirmed by {state.confirmed_by}" if state.confirmed_by else ""
    return ActionRunOutcome.EXECUTED, f"automatic {action.type.value} {when}{who}: sent", email
