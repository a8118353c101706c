"""Events between the services that want an email sent and the mailer that sends it.

An email request carries everything the mailer needs to render it (no service reads another's
database): the template text per language and a render context with client, items and people.
"""

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from shared.contracts.envelope import EventPayload
from shared.contracts.topics import Stream
from shared.contracts.values import (
    ActionType,
    Amount,
    Currency,
    EmailAddress,
    Frozen,
    Identifier,
    ItemKind,
    LanguageCode,
    LatePenaltySettings,
    Recipient,
    TemplateVariant,
    UserRef,
)


class EmailPurpose(StrEnum):
    CLIENT = "client"  # to the client's contacts, from the wizard or an action
    INTERNAL_INTERACTIVE = "internal_interactive"  # to a colleague, with a signed link
    DUNNING_REMINDER = "dunning_reminder"  # a scenario step
    ACTION = "action"  # an automatic specific action run on its date


class RenderItem(Frozen):
    item_id: Identifier
    number: str
    kind: ItemKind = ItemKind.INVOICE
    issue_date: date
    due_date: date
    amount: Amount
    open_amount: Amount
    currency: Currency
    status_label: str | None = None


class RenderClient(Frozen):
    client_id: Identifier
    number: str
    name: str
    language: LanguageCode
    currency: Currency
    late_penalties: LatePenaltySettings | None = None


class RenderCompany(Frozen):
    name: str
    email: EmailAddress | None = None
    phone: str | None = None
    address: str | None = None


class RenderAction(Frozen):
    action_id: Identifier
    name: str
    type: ActionType
    scheduled_for: date
    owner: UserRef | None = None


class RenderContext(Frozen):
    """The values behind the template hashtags, as they stood when the email was requested."""

    company: RenderCompany
    client: RenderClient
    contact: Recipient | None = None
    collector: UserRef | None = None
    action: RenderAction | None = None
    items: list[RenderItem] = Field(default_factory=list)
    link_url: str | None = None
    as_of: date


class AttachmentRef(Frozen):
    """A claim check: the mailer fetches the bytes from `url`; no blob travels over Kafka."""

    attachment_id: Identifier
    filename: str
    content_type: str
    size: int = Field(ge=0)
    url: str


class EmailRequested(EventPayload):
    """Someone wants an email sent. Producers: followups, dunning. Consumer: mailer."""

    event_type: ClassVar[str] = "arf.email.requested"
    stream: ClassVar[Stream] = Stream.EMAIL_REQUESTS

    request_id: Identifier
    idempotency_key: Identifier
    client_id: Identifier
    action_id: str | None = None
    purpose: EmailPurpose
    automatic: bool = False
    to: list[Recipient] = Field(min_length=1)
    cc: list[Recipient] = Field(default_factory=list)
    reply_to: EmailAddress | None = None
    template_id: str | None = None
    variants: dict[LanguageCode, TemplateVariant] = Field(min_length=1)
    language: LanguageCode
    default_language: LanguageCode = "en"
    context: RenderContext
    attachments: list[AttachmentRef] = Field(default_factory=list)


class EmailDelivered(EventPayload):
    """The relay accepted the email. Producer: mailer. Consumers: followups (history), dunning."""

    event_type: ClassVar[str] = "arf.email.delivered"
    stream: ClassVar[Stream] = Stream.EMAIL_DELIVERIES

    request_id: Identifier
    idempotency_key: Identifier
    client_id: Identifier
    action_id: str | None = None
    purpose: EmailPurpose
    recipients: list[EmailAddress]
    message_id: str
    delivered_at: AwareDatetime


class FailureKind(StrEnum):
    PERMANENT = "permanent"  # 5xx, invalid or suppressed address, hard bounce
    EXHAUSTED = "exhausted"  # temporary failures past the retry budget
    UNKNOWN = "unknown"  # connection lost after DATA: may or may not have been delivered


class EmailFailed(EventPayload):
    """The email was not (or may not have been) delivered, with the SMTP reply when there is one."""

    event_type: ClassVar[str] = "arf.email.failed"
    stream: ClassVar[Stream] = Stream.EMAIL_DELIVERIES

    request_id: Identifier
    idempotency_key: Identifier
    client_id: Identifier
    action_id: str | None = None
    purpose: EmailPurpose
    recipients: list[EmailAddress]
    message_id: str | None = None
    kind: FailureKind
    reason: str
    smtp_code: int | None = None
    failed_at: AwareDatetime


class ReplyKind(StrEnum):
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"


class ReplyReceived(EventPayload):
    """A colleague answered an internal interactive email (or an auto-reply came back: `kind`).
    Producer: mailer (inbound listener). Consumer: followups (a comment, or a reschedule proposal)."""

    event_type: ClassVar[str] = "arf.reply.received"
    stream: ClassVar[Stream] = Stream.REPLIES

    reply_id: Identifier
    client_id: Identifier
    action_id: Identifier
    from_email: EmailAddress
    kind: ReplyKind
    text: str
    attachments: list[AttachmentRef] = Field(default_factory=list)
    return_date: date | None = None
    received_at: AwareDatetime
    link_id: str | None = None  # the link whose reply address was answered (None: came to a bounce address)
