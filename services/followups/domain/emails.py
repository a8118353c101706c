"""Email requests: what the wizard and a follow-up ask the mailer to send, with everything it needs to render.

The mailer reads no other database, so a request carries the template text per language and the whole
render context (company, client, contact, collector, action, items with their status labels).
Internal interactive emails go to colleagues only (rule 9): a user's address or an internal domain.
"""

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts.email import (
    AttachmentRef,
    EmailPurpose,
    EmailRequested,
    RenderAction,
    RenderClient,
    RenderCompany,
    RenderContext,
    RenderItem,
)
from shared.contracts.values import (
    EmailAddress,
    Identifier,
    ItemSnapshot,
    LanguageCode,
    Recipient,
    TemplateVariant,
    UserRef,
)
from services.followups.domain.actions import Action
from services.followups.domain.errors import Invalid, listed
from services.followups.domain.links import LinkOptions
from services.followups.domain.parties import Client, TenantSettings
from services.followups.domain.statuses import ItemStatus
from services.followups.domain.templates import ActionTemplate, Audience, check_variants


class EmailDraft(BaseModel):
    """An email to write: recipients, and a template or an inline subject/body (with hashtags)."""

    model_config = ConfigDict(extra="forbid")

    to: list[Recipient] = Field(default_factory=list, max_length=50,
                                description="Client email: defaults to the client's primary contacts")
    cc: list[Recipient] = Field(default_factory=list, max_length=50)
    template_id: str | None = None
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] | None = None
    body: Annotated[str, StringConstraints(min_length=1, max_length=50_000)] | None = None
    language: LanguageCode | None = Field(None, description="Defaults to the client's language")
    link: LinkOptions | None = Field(None, description="Internal interactive email: what the link lets the "
                                                       "colleague do (defaults apply when left out)")
    attachment_ids: list[Identifier] = Field(default_factory=list, max_length=20,
                                             description="Documents of the action to attach (fetched by the mailer)")

    @model_validator(mode="after")
    def _one_source(self) -> "EmailDraft":
        inline = self.subject is not None or self.body is not None
        if inline == (self.template_id is not None):
            raise ValueError("give either template_id, or subject and body")
        if inline and (self.subject is None or self.body is None):
            raise ValueError("an inline email needs both subject and body")
        return self


def variants_of(draft: EmailDraft, template: ActionTemplate | None, *, purpose: EmailPurpose, language: str,
                default_language: str) -> dict[str, TemplateVariant]:
    """The text per language, checked: a client email may not use internal-only hashtags."""
    internal = purpose == EmailPurpose.INTERNAL_INTERACTIVE
    if template is not None:
        wanted = Audience.INTERNAL if internal else Audience.CLIENT
        if template.audience != wanted:
            raise Invalid(f"template {template.template_id} is for {template.audience} emails, not {wanted} ones",
                          code="template_audience")
        if language not in template.variants and default_language not in template.variants:
            raise Invalid(f"template {template.template_id} has no {language} or {default_language} variant",
                          code="template_language")
        return dict(template.variants)
    assert draft.subject is not None and draft.body is not None
    variants = {language: TemplateVariant(subject=draft.subject, body=draft.body)}
    check_variants(variants, field="email", allow_internal=internal)
    return variants


def with_link(variants: dict[str, TemplateVariant]) -> dict[str, TemplateVariant]:
    """An interactive email always shows its link: `#link_url` is added to a body that does not use it."""
    return {language: variant if "link_url" in variant.body else
            TemplateVariant(subject=variant.subject, body=f"{variant.body.rstrip()}\n\n#link_url")
            for language, variant in variants.items()}


def check_client_email(draft: EmailDraft) -> None:
    """Customer emails stay separate (rule 9): no interactive link, hence no reply token either."""
    if draft.link is not None:
        raise Invalid("an email to the client carries no interactive link", code="link_for_client")


def check_internal_recipients(recipients: Sequence[Recipient], *, users: Sequence[str], settings: TenantSettings,
                              client: Client, cc: Sequence[Recipient] = ()) -> None:
    """Rule 9: an internal interactive email goes to colleagues only, never to a client's contact."""
    if not recipients:
        raise Invalid("an internal email needs at least one colleague in `to`", code="recipients_required")
    if cc:
        raise Invalid("each colleague gets a link of their own: put every colleague in `to`, none in `cc`",
                      code="cc_on_interactive")
    known = {address.lower() for address in users}
    domains = set(settings.internal_domains) | {address.rsplit("@", 1)[1] for address in known}
    contacts = {c.email.lower() for c in client.contacts if c.email}
    outside = [r.email for r in recipients
               if r.email.lower() in contacts
               or (r.email.lower() not in known and r.email.rsplit("@", 1)[1].lower() not in domains)]
    if outside:
        raise Invalid(f"internal emails go to colleagues only; not internal: {listed(outside)}",
                      code="not_internal", recipients=outside)


def client_recipients(draft: EmailDraft, client: Client) -> list[Recipient]:
    if draft.to:
        return draft.to
    recipients = [Recipient(email=c.email, name=c.name) for c in client.email_contacts() if c.email]
    if not recipients:
        raise Invalid(f"client {client.client_id} has no contact with an email address: give `to`",
                      code="recipients_required")
    return recipients


def render_context(*, client: Client, items: Sequence[ItemSnapshot], statuses: Mapping[str, ItemStatus],
                   settings: TenantSettings, tenant_id: str, collector: UserRef | None, action: Action | None,
                   contact: Recipient | None, language: str, today: date, link_url: str | None = None
                   ) -> RenderContext:
    company = settings.company
    return RenderContext(
        company=RenderCompany(name=company.name if company else tenant_id, email=company.email if company else None,
                              phone=company.phone if company else None, address=company.address if company else None),
        client=RenderClient(client_id=client.client_id, number=client.number, name=client.name,
                            language=client.language, currency=client.currency,
                            late_penalties=client.late_penalties),
        contact=contact,
        collector=collector,
        action=RenderAction(action_id=action.action_id, name=action.name, type=action.type,
                            scheduled_for=action.scheduled_for, owner=action.owner) if action else None,
        items=[_render_item(item, statuses, language) for item in items],
        link_url=link_url,
        as_of=today,
    )


def _render_item(item: ItemSnapshot, statuses: Mapping[str, ItemStatus], language: str) -> RenderItem:
    status = statuses.get(item.status_code) if item.status_code else None
    return RenderItem(item_id=item.item_id, number=item.number, kind=item.kind, issue_date=item.issue_date,
                      due_date=item.due_date, amount=item.amount, open_amount=item.open_amount,
                      currency=item.currency, status_label=status.label(language) if status else None)


def email_requested(*, request_id: str, client: Client, action: Action | None, purpose: EmailPurpose,
                    to: list[Recipient], cc: list[Recipient], reply_to: EmailAddress | None,
                    template_id: str | None, variants: dict[str, TemplateVariant], language: str,
                    default_language: str, context: RenderContext,
                    attachments: Sequence[AttachmentRef] = ()) -> EmailRequested:
    return EmailRequested(
        request_id=request_id, idempotency_key=request_id, client_id=client.client_id,
        action_id=action.action_id if action else None, purpose=purpose, automatic=False, to=to, cc=cc,
        reply_to=reply_to, template_id=template_id, variants=variants, language=language,
        default_language=default_language, context=context, attachments=list(attachments),
    )
