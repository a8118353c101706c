"""Value types that several event payloads carry: money fields, people, items, actions."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _finite(amount: Decimal) -> Decimal:
    if not amount.is_finite():
        raise ValueError("an amount must be a finite number")
    return amount


Amount = Annotated[Decimal, AfterValidator(_finite)]
EmailAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$"),
]


class Frozen(BaseModel):
    """Immutable value; unknown fields from newer producers are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class ItemKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    DEBIT_NOTE = "debit_note"
    PAYMENT_ON_ACCOUNT = "payment_on_account"
    OTHER = "other"


class StatusCategory(StrEnum):
    DISPUTE = "dispute"
    PROMISE = "promise"
    LEGAL = "legal"
    INFO = "info"
    RESOLVED = "resolved"


class ActionType(StrEnum):
    EMAIL = "email"
    CALL = "call"
    LETTER = "letter"
    SMS = "sms"
    TASK = "task"
    FOLLOW_UP = "follow_up"


class ActorKind(StrEnum):
    USER = "user"
    COLLEAGUE = "colleague"  # acted from an internal interactive email, identified by address
    SYSTEM = "system"


class Actor(Frozen):
    """Who made a change: a logged-in user, a colleague from a link or reply, or the system."""

    kind: ActorKind
    id: str | None = None
    email: EmailAddress | None = None
    name: str | None = None


SYSTEM = Actor(kind=ActorKind.SYSTEM, id="system")


class UserRef(Frozen):
    user_id: Identifier
    name: str
    email: EmailAddress
    phone: str | None = None


class Recipient(Frozen):
    email: EmailAddress
    name: str | None = None


class ItemSnapshot(Frozen):
    """The whole state of one item after a change; `version` grows by one with every change.

    Every event that touches items carries their snapshots, so a consumer applies a snapshot only
    when its version is newer than the one it holds, whatever topic or order it arrives in.
    """

    item_id: Identifier
    client_id: Identifier
    number: str
    kind: ItemKind = ItemKind.INVOICE
    issue_date: date
    due_date: date
    amount: Amount
    open_amount: Amount
    currency: Currency
    status_code: str | None = None
    status_since: AwareDatetime | None = None
    held_by_action_id: str | None = None
    held_by_action_type: ActionType | None = None
    version: int = Field(ge=1)
    changed_at: AwareDatetime

    @property
    def closed(self) -> bool:
        return self.open_amount == 0


class LatePenaltySettings(Frozen):
    """Annual interest rate (0.10 = 10 %) pro rata of days late, plus a fixed recovery fee per invoice."""

    annual_rate: Amount = Field(ge=0, le=1)
    fixed_fee: Amount = Field(default=Decimal("0"), ge=0)


class Contact(Frozen):
    contact_id: Identifier
    name: str
    email: EmailAddress | None = None
    phone: str | None = None
    role: str | None = None
    language: LanguageCode | None = None
    is_primary: bool = False
    bounced: bool = False


class ActionState(StrEnum):
    OPEN = "open"
    DONE = "done"
    CLOSED = "closed"
    DELETED = "deleted"


class TemplateVariant(Frozen):
    """Subject and body of one language, written with the template hashtags."""

    subject: str
    body: str


class ActionContent(Frozen):
    """What an action sends when it runs (email, letter, SMS): recipients and text per language."""

    template_id: str | None = None
    variants: dict[LanguageCode, TemplateVariant] = Field(default_factory=dict)
    recipients: list[Recipient] = Field(default_factory=list)


class ActionSnapshot(Frozen):
    """The whole state of one specific action (or follow-up) after a change."""

    action_id: Identifier
    client_id: Identifier
    type: ActionType
    name: str
    scheduled_for: date
    owner: UserRef | None = None
    automatic: bool = False
    to_be_confirmed: bool = False
    state: ActionState = ActionState.OPEN
    item_ids: list[Identifier] = Field(default_factory=list)
    content: ActionContent | None = None
    resolution_note: str | None = None
    version: int = Field(ge=1)
    changed_at: datetime
