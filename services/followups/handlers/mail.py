"""Requesting an email from the wizard or a follow-up: resolve recipients, text and render context, publish
the request for the mailer, and note it in the action's (or the client's) history.

An internal interactive email goes to each colleague separately: each gets a link of their own (scope,
operations, expiry) and a reply address bound to it. A client email never carries either (rule 9)."""

from collections.abc import Sequence
from dataclasses import dataclass

from shared.contracts.email import AttachmentRef, EmailPurpose
from shared.contracts.values import ItemSnapshot, Recipient, TemplateVariant
from services.followups.ports import Tx
from services.followups.domain import actions as act
from services.followups.domain.actions import Action
from services.followups.domain.emails import (
    EmailDraft,
    check_client_email,
    check_internal_recipients,
    client_recipients,
    email_requested,
    render_context,
    variants_of,
    with_link,
)
from services.followups.domain.errors import Invalid
from services.followups.domain.history import EntryKind, HistoryEntry
from services.followups.domain.links import LinkOptions
from services.followups.domain.parties import Client, TenantSettings
from services.followups.domain.statuses import ItemStatus
from services.followups.handlers.changes import Changes
from services.followups.handlers.context import Caller, Deps, new_id, user_refs
from services.followups.handlers.links import attachment_refs, issue_link


async def request_email(draft: EmailDraft, *, purpose: EmailPurpose, client: Client, items: Sequence[ItemSnapshot],
                        action: Action | None, changes: Changes, caller: Caller, deps: Deps, tx: Tx) -> list[str]:
    """Stage the EmailRequested(s) with the full render context; returns their request ids (one per colleague
    for an interactive email, one for a client email)."""
    tenant, store = caller.tenant_id, tx
    settings = await store.tenants.settings(tenant)
    template = None
    if draft.template_id:
        template = await store.templates.get(tenant, draft.template_id)
        if template is None:
            raise Invalid(f"unknown template {draft.template_id!r}", code="unknown_template")
    internal = purpose == EmailPurpose.INTERNAL_INTERACTIVE
    language = draft.language or (settings.default_language if internal else client.language)
    variants = variants_of(draft, template, purpose=purpose, language=language,
                           default_language=settings.default_language)
    statuses = {status.code: status for status in await store.statuses.all(tenant)}
    attachments = await attachment_refs(draft.attachment_ids, action=action, caller=caller, deps=deps, tx=tx)
    email = _Email(draft=draft, purpose=purpose, client=client, items=items, action=action, language=language,
                   variants=variants, settings=settings, statuses=statuses, attachments=attachments)
    if not internal:
        check_client_email(draft)
        return [await _stage(email, to=client_recipients(draft, client), reply_to=caller.address, link_url=None,
                             request_id=new_id(), changes=changes, caller=caller, deps=deps, tx=tx)]
    colleagues = [user.email for user in await store.users.all(tenant) if user.active]
    check_internal_recipients(draft.to, users=colleagues, settings=settings, client=client, cc=draft.cc)
    email.variants = with_link(variants)
    active = [code for code, status in statuses.items() if status.active]
    request_ids = []
    for recipient in draft.to:
        request_id = new_id()
        link = issue_link(draft.link or LinkOptions(), recipient=recipient, client=client, items=items,
                          action=action, statuses=active, settings=settings, language=language,
                          request_id=request_id, caller=caller, deps=deps)
        changes.links.append(link.record)
        request_ids.append(await _stage(email, to=[recipient], reply_to=link.reply_to, link_url=link.url,
                                        request_id=request_id, changes=changes, caller=caller, deps=deps, tx=tx,
                                        link_id=link.record.link_id))
    return request_ids


@dataclass
class _Email:
    """What every copy of one requested email shares."""

    draft: EmailDraft
    purpose: EmailPurpose
    client: Client
    items: Sequence[ItemSnapshot]
    action: Action | None
    language: str
    variants: dict[str, TemplateVariant]
    settings: TenantSettings
    statuses: dict[str, ItemStatus]
    attachments: list[AttachmentRef]


async def _stage(email: _Email, *, to: list[Recipient], reply_to: str | None, link_url: str | None, request_id: str,
                 changes: Changes, caller: Caller, deps: Deps, tx: Tx, link_id: str | None = None) -> str:
    tenant, client, action, settings = caller.tenant_id, email.client, email.action, email.settings
    internal = email.purpose == EmailPurpose.INTERNAL_INTERACTIVE
    collector = (await user_refs(tenant, [client.collector_id], tx=tx)).get(
        client.collector_id) if client.collector_id else None
    context = render_context(client=client, items=email.items, statuses=email.statuses, settings=settings,
                             tenant_id=tenant, collector=collector, action=action,
                             contact=None if internal else to[0], language=email.language,
                             today=deps.clock.today(), link_url=link_url)
    event = email_requested(request_id=request_id, client=client, action=action, purpose=email.purpose, to=to,
                            cc=email.draft.cc, reply_to=reply_to, template_id=email.draft.template_id,
                            variants=email.variants, language=email.language,
                            default_language=settings.default_language, context=context,
                            attachments=email.attachments)
    changes.publish(lambda events: events.email_requested(event))
    variants = email.variants
    subject = variants.get(email.language) or variants.get(settings.default_language) or next(iter(variants.values()))
    summary = {"request_id": request_id, "purpose": email.purpose.value, "to": [r.email for r in to],
               "subject": subject.subject, "item_count": len(email.items)}
    if link_id:
        summary["link_id"] = link_id
    if email.attachments:
        summary["attachment_ids"] = [ref.attachment_id for ref in email.attachments]
    changes.emails.append({**summary, "client_id": client.client_id,
                           "action_id": action.action_id if action else None, "cc": [r.email for r in email.draft.cc],
                           "template_id": email.draft.template_id, "state": "requested", "requested_at": changes.now,
                           "requested_by": caller.actor.model_dump()})
    if action is not None:
        changes.note(act.note(action, EntryKind.EMAIL_REQUESTED, actor=caller.actor, now=changes.now, data=summary))
    else:
        changes.note(HistoryEntry(client_id=client.client_id, client_level=True, kind=EntryKind.EMAIL_REQUESTED,
                                  at=changes.now, actor=caller.actor, data=summary))
    return request_id
