"""Action templates: reusable subject/body per language, checked against the hashtag catalogue when saved."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.values import ActionType, LanguageCode, TemplateVariant
from shared.templating import check_template
from services.followups.domain.errors import Invalid

Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=50_000)]


class VariantInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Subject
    body: Body

    def variant(self) -> TemplateVariant:
        return TemplateVariant(subject=self.subject, body=self.body)


class Audience(StrEnum):
    CLIENT = "client"  # may not use internal-only hashtags (#link_url)
    INTERNAL = "internal"  # an internal interactive email to a colleague


class TemplateInput(BaseModel):
    """What an admin writes: a name, the action type it serves, who reads it, text per language."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    type: ActionType = ActionType.EMAIL
    audience: Audience = Audience.CLIENT
    variants: dict[LanguageCode, VariantInput] = Field(min_length=1)


class ActionTemplate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    template_id: str
    name: str
    type: ActionType
    audience: Audience
    variants: dict[LanguageCode, TemplateVariant]
    version: int = Field(ge=1)
    changed_at: datetime


def check_variants(variants: dict[str, TemplateVariant], *, field: str, allow_internal: bool) -> None:
    """Raise Invalid listing every unknown hashtag, syntax error or sandbox escape in the variants."""
    problems = []
    for language, variant in variants.items():
        for part in ("subject", "body"):
            problems += check_template(getattr(variant, part), field=f"{field}.{language}.{part}",
                                       allow_internal=allow_internal)
    if problems:
        raise Invalid("; ".join(f"{p.field}: {p.message}" for p in problems), code="template_rejected",
                      problems=[{"field": p.field, "message": p.message} for p in problems])


def template_from(template_id: str, body: TemplateInput, *, version: int, now: datetime) -> ActionTemplate:
    variants = {language: variant.variant() for language, variant in body.variants.items()}
    check_variants(variants, field="variants", allow_internal=body.audience == Audience.INTERNAL)
    return ActionTemplate(template_id=template_id, name=body.name, type=body.type, audience=body.audience,
                          variants=variants, version=version, changed_at=now)
