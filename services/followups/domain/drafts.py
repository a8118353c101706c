"""Where a new specific action's settings come from: scratch, the status' action model (rule 6), a copy of
an existing action, or a template. Explicit fields always win over what the source suggests."""

from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.values import ActionContent, ActionType, LanguageCode, Recipient, UserRef
from services.followups.domain.actions import Action, ActionDraft, ActionName, check_draft
from services.followups.domain.errors import Invalid
from services.followups.domain.parties import Client
from services.followups.domain.statuses import ItemStatus
from services.followups.domain.templates import ActionTemplate, VariantInput


class ContentInput(BaseModel):
    """What an action sends when it runs: text per language (hashtags allowed) and recipients."""

    model_config = ConfigDict(extra="forbid")

    variants: dict[LanguageCode, VariantInput] = Field(default_factory=dict)
    recipients: list[Recipient] = Field(default_factory=list, max_length=50)

    def content(self, template_id: str | None = None) -> ActionContent:
        return ActionContent(template_id=template_id, recipients=self.recipients,
                             variants={lang: variant.variant() for lang, variant in self.variants.items()})


class ActionSource(StrEnum):
    NEW = "new"
    STATUS_MODEL = "status_model"
    COPY_ACTION = "copy_action"
    TEMPLATE = "template"


class ActionSpec(BaseModel):
    """A specific action to create. Fields left out come from the source, then from sensible defaults."""

    model_config = ConfigDict(extra="forbid")

    source: ActionSource = ActionSource.NEW
    type: ActionType | None = None
    name: ActionName | None = None
    scheduled_for: date | None = Field(None, description="Defaults to today (a status model adds its delay)")
    owner_id: str | None = Field(None, description="The resolution owner, a user id")
    automatic: bool | None = None
    to_be_confirmed: bool | None = None
    content: ContentInput | None = None
    status_code: str | None = Field(None, description="source=status_model outside the wizard")
    template_id: str | None = None
    copy_from_action_id: str | None = None

    @model_validator(mode="after")
    def _source_fields(self) -> "ActionSpec":
        if self.source == ActionSource.NEW and self.type is None:
            raise ValueError("a new action needs a type")
        if self.source == ActionSource.TEMPLATE and not self.template_id:
            raise ValueError("source=template needs template_id")
        if self.source == ActionSource.COPY_ACTION and not self.copy_from_action_id:
            raise ValueError("source=copy_action needs copy_from_action_id")
        return self


def resolve_draft(spec: ActionSpec, *, client: Client, today: date, status: ItemStatus | None,
                  template: ActionTemplate | None, copied: Action | None, users: Mapping[str, UserRef],
                  caller_id: str) -> ActionDraft:
    """The new action's settings; raises Invalid when a rule is broken (past date, no owner…)."""
    base, suggested_owner = _from_source(spec, client=client, today=today, status=status, template=template,
                                         copied=copied)
    content = spec.content.content(spec.template_id) if spec.content else base.content
    action_type = spec.type or base.type
    if content is not None and action_type == ActionType.EMAIL and not content.recipients:
        contacts = [Recipient(email=c.email, name=c.name) for c in client.email_contacts() if c.email]
        content = content.model_copy(update={"recipients": contacts})
    draft = ActionDraft(
        type=action_type, name=spec.name or base.name, scheduled_for=spec.scheduled_for or base.scheduled_for,
        owner=_owner(spec, suggested_owner, users=users, caller_id=caller_id, client=client),
        automatic=base.automatic if spec.automatic is None else spec.automatic,
        to_be_confirmed=base.to_be_confirmed if spec.to_be_confirmed is None else spec.to_be_confirmed,
        content=content,
    )
    check_draft(draft, today=today)
    return draft


def _from_source(spec: ActionSpec, *, client: Client, today: date, status: ItemStatus | None,
                 template: ActionTemplate | None, copied: Action | None) -> tuple[ActionDraft, str | None]:
    """The settings the source suggests, and the user id it suggests as owner."""
    if spec.source == ActionSource.STATUS_MODEL:
        if status is None or status.action_model is None:
            code = status.code if status else spec.status_code
            raise Invalid(f"status {code!r} has no linked action model", code="no_action_model")
        return ActionDraft(type=status.action_model, name=f"{status.label(client.language)} — {client.name}",
                           scheduled_for=today + timedelta(days=status.action_delay_days)), status.default_owner_id
    if spec.source == ActionSource.TEMPLATE:
        assert template is not None
        return ActionDraft(type=template.type, name=template.name, scheduled_for=today,
                           content=ActionContent(template_id=template.template_id, variants=template.variants)), None
    if spec.source == ActionSource.COPY_ACTION:
        assert copied is not None
        content = copied.content
        if content is not None and copied.client_id != client.client_id:
            content = content.model_copy(update={"recipients": []})  # another client's contacts never carry over
        return ActionDraft(type=copied.type, name=copied.name, scheduled_for=max(copied.scheduled_for, today),
                           automatic=copied.automatic, to_be_confirmed=copied.to_be_confirmed,
                           content=content), copied.owner.user_id if copied.owner else None
    assert spec.type is not None
    return ActionDraft(type=spec.type, name=spec.name or f"{spec.type.replace('_', '-').capitalize()} — {client.name}",
                       scheduled_for=today), None


def _owner(spec: ActionSpec, suggested: str | None, *, users: Mapping[str, UserRef], caller_id: str,
           client: Client) -> UserRef | None:
    if spec.owner_id is not None:
        if spec.owner_id not in users:
            raise Invalid(f"unknown owner {spec.owner_id!r}: the owner must be an active user", code="unknown_owner")
        return users[spec.owner_id]
    for candidate in (suggested, client.collector_id, caller_id):  # the collector owns the client's cases
        if candidate and candidate in users:
            return users[candidate]
    return None


def owner_candidates(spec: ActionSpec, *, status: ItemStatus | None, copied: Action | None, caller_id: str,
                     client: Client) -> set[str]:
    """The user ids `resolve_draft` may pick from, so the caller loads exactly those."""
    ids = {caller_id}
    for candidate in (spec.owner_id, status.default_owner_id if status else None,
                      copied.owner.user_id if copied and copied.owner else None, client.collector_id):
        if candidate:
            ids.add(candidate)
    return ids
