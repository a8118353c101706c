"""The people and organisations around a receivable: the tenant's settings, its users, its clients."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared.contracts.receivables import ClientUpserted
from shared.contracts.values import Contact, Currency, EmailAddress, Identifier, LanguageCode, LatePenaltySettings, UserRef
from shared.identity import Role

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Domain = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True,
                                          pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$")]


class Company(BaseModel):
    """The tenant as its emails present it (the #company_* hashtags)."""

    model_config = ConfigDict(extra="forbid")

    name: Text
    email: EmailAddress | None = None
    phone: str | None = Field(None, max_length=50)
    address: str | None = Field(None, max_length=500)


class TenantSettings(BaseModel):
    """Per-tenant settings an admin edits."""

    model_config = ConfigDict(extra="forbid")

    company: Company | None = None
    default_language: LanguageCode = "en"
    internal_domains: list[Domain] = Field(
        default_factory=list,
        description="Email domains of colleagues; internal interactive emails go to these (and to users) only",
    )
    reply_forwarding_allowed: bool = Field(
        False, description="A reply to an interactive email from another address than the colleague's is accepted")
    reschedule_on_out_of_office: bool = Field(
        False, description="An out-of-office reply with a return date reschedules the action (else: proposes it)")


class UserInput(BaseModel):
    """A user of the tenant as an admin declares it; resolution owners are users."""

    model_config = ConfigDict(extra="forbid")

    name: Text
    email: EmailAddress
    phone: str | None = Field(None, max_length=50)
    roles: list[Role] = Field(min_length=1)
    active: bool = True


class User(UserInput):
    model_config = ConfigDict(extra="ignore")

    user_id: Identifier

    def ref(self) -> UserRef:
        return UserRef(user_id=self.user_id, name=self.name, email=self.email, phone=self.phone)


class ClientInput(BaseModel):
    """A client as the ERP sends it (import row or single upsert)."""

    model_config = ConfigDict(extra="forbid")

    client_id: Identifier | None = Field(None, description="The ERP's key; defaults to `number`")
    number: Text
    name: Text
    entity_id: Identifier = "main"
    group_id: str | None = Field(None, max_length=200)
    language: LanguageCode
    currency: Currency
    collector_id: Identifier | None = None
    sales_manager_id: Identifier | None = None
    scenario_code: str | None = Field(None, max_length=100)
    dunning_excluded: bool = False
    contacts: list[Contact] = Field(default_factory=list, max_length=100)
    late_penalties: LatePenaltySettings | None = None

    @field_validator("contacts")
    @classmethod
    def _unique_contacts(cls, contacts: list[Contact]) -> list[Contact]:
        ids = [contact.contact_id for contact in contacts]
        if len(ids) != len(set(ids)):
            raise ValueError("contact ids must be unique")
        return contacts

    @property
    def key(self) -> str:
        return self.client_id or self.number


class Client(ClientInput):
    """A client as stored; `version` grows by one with every change."""

    model_config = ConfigDict(extra="ignore")

    client_id: Identifier
    version: int = Field(ge=1)
    changed_at: datetime

    def email_contacts(self) -> list[Contact]:
        """Who a client email goes to by default: primary contacts with a working address, else any."""
        usable = [c for c in self.contacts if c.email and not c.bounced]
        primary = [c for c in usable if c.is_primary]
        return primary or usable[:1]

    def upserted_event(self, *, collector: UserRef | None, sales_manager: UserRef | None) -> ClientUpserted:
        return ClientUpserted(
            client_id=self.client_id, number=self.number, name=self.name, entity_id=self.entity_id,
            group_id=self.group_id, language=self.language, currency=self.currency, collector=collector,
            sales_manager=sales_manager, scenario_code=self.scenario_code, dunning_excluded=self.dunning_excluded,
            contacts=self.contacts, late_penalties=self.late_penalties, version=self.version,
        )


def merge_client(existing: Client | None, incoming: ClientInput, *, now: datetime) -> Client | None:
    """The client after an upsert, or None when nothing changed (re-importing changes nothing). A contact
    flagged `bounced` stays flagged while the ERP sends it with the same address."""
    if existing is not None:
        incoming = incoming.model_copy(update={"contacts": _keep_bounced(existing.contacts, incoming.contacts)})
    fields = incoming.model_dump(exclude={"client_id"})
    if existing is not None and existing.model_dump(include=set(fields)) == fields:
        return None
    version = existing.version + 1 if existing else 1
    return Client(**fields, client_id=incoming.key, version=version, changed_at=now)


def _keep_bounced(known: list[Contact], incoming: list[Contact]) -> list[Contact]:
    bounced = {(c.contact_id, (c.email or "").lower()) for c in known if c.bounced}
    return [c.model_copy(update={"bounced": True}) if (c.contact_id, (c.email or "").lower()) in bounced else c
            for c in incoming]
