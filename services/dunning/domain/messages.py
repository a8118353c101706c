"""Email requests built from the state dunning keeps: the mailer reads no other database."""

import uuid
from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from services.dunning.domain.state import ClientState, ItemState, StatusRule
from shared.contracts.email import (
    EmailPurpose,
    EmailRequested,
    RenderAction,
    RenderClient,
    RenderCompany,
    RenderContext,
    RenderItem,
)
from shared.contracts.values import ActionType, LanguageCode, Recipient, TemplateVariant

_REQUEST_NAMESPACE = uuid.UUID("6b1d3c52-5c55-4d8e-9a57-2f0d8f5d7a11")


class CompanyProfile(BaseModel):
    """The sender shown in reminders (company hashtags), set per tenant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str | None = None
    phone: str | None = None
    address: str | None = None

    def render(self) -> RenderCompany:
        return RenderCompany(name=self.name, email=self.email, phone=self.phone, address=self.address)


def request_id_for(idempotency_key: str) -> str:
    """Deterministic: a re-run of the same decision names the same request."""
    return str(uuid.uuid5(_REQUEST_NAMESPACE, idempotency_key))


def recipients_of(client: ClientState) -> list[Recipient]:
    """The client's reachable contacts: the primary ones when there are any, otherwise all with an address."""
    reachable = [contact for contact in client.contacts if contact.email and not contact.bounced]
    primary = [contact for contact in reachable if contact.is_primary]
    return [Recipient(email=contact.email, name=contact.name) for contact in (primary or reachable) if contact.email]


def render_items(items: Sequence[ItemState], statuses: dict[str, StatusRule], language: str) -> list[RenderItem]:
    return [
        RenderItem(
            item_id=item.item_id, number=item.number, kind=item.kind, issue_date=item.issue_date,
            due_date=item.due_date, amount=item.amount, open_amount=item.open_amount, currency=item.currency,
            status_label=statuses[item.status_code].label(language) if item.status_code in statuses else None,
        )
        for item in sorted(items, key=lambda i: (i.due_date, i.number))
    ]


def email_request(
    *,
    idempotency_key: str,
    purpose: EmailPurpose,
    client: ClientState,
    items: Sequence[ItemState],
    statuses: dict[str, StatusRule],
    variants: dict[LanguageCode, TemplateVariant],
    default_language: str,
    company: CompanyProfile,
    action: RenderAction,
    as_of: date,
    recipients: list[Recipient] | None = None,
    template_id: str | None = None,
    action_id: str | None = None,
) -> EmailRequested | None:
    """The request for one email to the client listing `items`; None when nobody can receive it."""
    to = recipients if recipients else recipients_of(client)
    if not to:
        return None
    context = RenderContext(
        company=company.render(),
        client=RenderClient(client_id=client.client_id, number=client.number or client.client_id,
                            name=client.name or client.client_id, language=client.language,
                            currency=client.currency, late_penalties=client.late_penalties),
        contact=to[0],
        collector=client.collector,
        action=action,
        items=render_items(items, statuses, client.language),
        as_of=as_of,
    )
    return EmailRequested(
        request_id=request_id_for(idempotency_key), idempotency_key=idempotency_key, client_id=client.client_id,
        action_id=action_id, purpose=purpose, automatic=True, to=to, reply_to=client.collector.email if client.collector else None,
        template_id=template_id, variants=variants, language=client.language, default_language=default_language,
        context=context,
    )


def step_action(*, group_key: str, name: str, type_: ActionType, on: date, client: ClientState) -> RenderAction:
    """A scenario step seen by the templates as an action (#action_name, #action_date…)."""
    return RenderAction(action_id=group_key, name=name, type=type_, scheduled_for=on, owner=client.collector)
