"""A specific action on its date: sent once when automatic and sendable, deleted instead when all its items
are closed (rule 7), skipped with the reason otherwise."""

from datetime import date

from services.dunning.domain.messages import CompanyProfile, email_request
from services.dunning.domain.progress import run_key
from services.dunning.domain.state import ActionState, ClientState, ItemState, StatusRule
from shared.contracts.dunning import ActionRunOutcome
from shared.contracts.email import EmailPurpose, EmailRequested, RenderAction
from shared.contracts.values import ActionType

SENDABLE = frozenset({ActionType.EMAIL, ActionType.LETTER})


def decide_action_run(
    state: ActionState, items: dict[str, ItemState], client: ClientState, statuses: dict[str, StatusRule],
    company: CompanyProfile, tenant_id: str, as_of: date,
) -> tuple[ActionRunOutcome, str, EmailRequested | None]:
    """The outcome of running the action today, its reason, and the email to send (if any)."""
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
