"""Requesting an email from the wizard or a follow-up: resolve recipients, text and render context, publish
the request for the mailer, and note it in the action's (or the client's) history."""

from collections.abc import Sequence

from shared.contracts.email import EmailPurpose
from shared.contracts.values import ItemSnapshot
from services.followups.adapters.events import Tx
from services.followups.domain import actions as act
from services.followups.domain.actions import Action
from services.followups.domain.emails import (
    EmailDraft,
    check_internal_recipients,
    client_recipients,
    email_requested,
    render_context,
    variants_of,
)
from services.followups.domain.errors import Invalid
from services.followups.domain.history import EntryKind, HistoryEntry
from services.followups.domain.parties import Client
from services.followups.handlers.changes import Changes
from services.followups.handlers.context import Caller, Deps, new_id, user_refs

async def request_email(draft: EmailDraft, *, purpose: EmailPurpose, client: Client, items: Sequence[ItemSnapshot],
                        action: Action | None, changes: Changes, caller: Caller, deps: Deps, tx: Tx) -> str:
    """Stage one EmailRequested with the full render context; returns its request id."""
    tenant, store = caller.tenant_id, deps.store
    settings = await store.tenants.settings(tenant, session=tx.session)
    template = None
    if draft.template_id:
        template = await store.templates.get(tenant, draft.template_id, session=tx.session)
        if template is None:
            raise Invalid(f"unknown template {draft.template_id!r}", code="unknown_template")
    internal = purpose == EmailPurpose.INTERNAL_INTERACTIVE
    language = draft.language or (settings.default_language if internal else client.language)
    variants = variants_of(draft, template, purpose=purpose, language=language,
                           default_language=settings.default_language)
    if internal:
        colleagues = [user.email for user in await store.users.all(tenant, session=tx.session) if user.active]
        check_internal_recipients(draft.to, users=colleagues, settings=settings, client=client)
        recipients = draft.to
    else:
        recipients = client_recipients(draft, client)
    statuses = {status.code: status for status in await store.statuses.all(tenant, session=tx.session)}
    collector = (await user_refs(tenant, [client.collector_id], deps=deps, session=tx.session)).get(
        client.collector_id) if client.collector_id else None
    context = render_context(client=client, items=items, statuses=statuses, settings=settings, tenant_id=tenant,
                             collector=collector, action=action, contact=None if internal else recipients[0],
                             language=language, today=deps.clock.today())
    request_id = new_id()
    event = email_requested(request_id=request_id, client=client, action=action, purpose=purpose, to=recipients,
                            cc=draft.cc, reply_to=caller.address, template_id=draft.template_id,
                            variants=variants, language=language, default_language=settings.default_language,
                            context=context)
    changes.events.email_requested(event)
    subject = (variants.get(language) or variants.get(settings.default_language) or next(iter(variants.values())))
    summary = {"request_id": request_id, "purpose": purpose.value, "to": [r.email for r in recipients],
               "subject": subject.subject, "item_count": len(items)}
    changes.emails.append({**summary, "client_id": client.client_id,
                           "action_id": action.action_id if action else None, "cc": [r.email for r in draft.cc],
                           "template_id": draft.template_id, "state": "requested", "requested_at": changes.now,
                           "requested_by": caller.actor.model_dump()})
    if action is not None:
        changes.note(act.note(action, EntryKind.EMAIL_REQUESTED, actor=caller.actor, now=changes.now, data=summary))
    else:
        changes.note(HistoryEntry(client_id=client.client_id, client_level=True, kind=EntryKind.EMAIL_REQUESTED,
                                  at=changes.now, actor=caller.actor, data=summary))
    return request_id

