"""Collection scenarios: ordered steps relative to the due date, their templates, and their rules."""

from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts.values import ActionType, LanguageCode, TemplateVariant
from shared.templating import check_template

Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")]
MAX_OFFSET_DAYS = 3650


class StepType(StrEnum):
    """What a scenario step does; follow-ups are specific actions, never scenario steps."""

    EMAIL = "email"
    LETTER = "letter"
    SMS = "sms"
    CALL = "call"
    TASK = "task"

    @property
    def action_type(self) -> ActionType:
        return ActionType(self.value)


# The mailer delivers email only: a letter step goes out as a formal notice by email when automatic.
SENDABLE = frozenset({StepType.EMAIL, StepType.LETTER})


class ScenarioInvalid(ValueError):
    """A scenario cannot be saved; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class StepTemplate(BaseModel):
    """Subject and body per language of the message a step sends, written with the hashtags."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code
    name: str = Field(min_length=1, max_length=200)
    variants: dict[LanguageCode, TemplateVariant] = Field(min_length=1)


class Step(BaseModel):
    """One step: on due date + `offset_days`, do `type`, automatically or through the agenda."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code
    name: str = Field(min_length=1, max_length=200)
    offset_days: int = Field(ge=-MAX_OFFSET_DAYS, le=MAX_OFFSET_DAYS, description="Days after the due date (negative: before)")
    type: StepType
    template_code: Code | None = None
    automatic: bool = Field(False, description="Sent by the scheduler (email and letter steps only)")
    to_be_confirmed: bool = Field(False, description="An automatic step waits in the agenda for confirmation")

    def date_for(self, due_date: date) -> date:
        return due_date + timedelta(days=self.offset_days)

    @property
    def label(self) -> str:
        sign = "+" if self.offset_days >= 0 else "-"
        return f"D{sign}{abs(self.offset_days)} {self.name}"

    @property
    def sends_by_itself(self) -> bool:
        return self.automatic and not self.to_be_confirmed


class ScenarioDraft(BaseModel):
    """What an admin writes; validated as a whole by `validate_draft`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    is_default: bool = False
    default_language: LanguageCode = "en"
    steps: list[Step] = Field(min_length=1, max_length=50)
    templates: list[StepTemplate] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _steps_in_order(self) -> Self:
        ordered = sorted(self.steps, key=lambda step: step.offset_days)
        if ordered != self.steps:
            object.__setattr__(self, "steps", ordered)
        return self


class Scenario(ScenarioDraft):
    """A saved scenario of one tenant."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    tenant_id: str
    version: int = Field(ge=1)

    def step(self, code: str | None) -> Step | None:
        return next((step for step in self.steps if step.code == code), None)

    def template(self, code: str | None) -> StepTemplate | None:
        return next((template for template in self.templates if template.code == code), None)

    def first_step_after(self, offset: int | None) -> Step | None:
        """The step an item goes to next when it last did the step at `offset` (None: nothing yet)."""
        return next((step for step in self.steps if offset is None or step.offset_days > offset), None)

    def steps_from(self, code: str | None) -> list[Step]:
        """The steps from `code` (inclusive) to the end; empty when `code` is not a step."""
        for index, step in enumerate(self.steps):
            if step.code == code:
                return self.steps[index:]
        return []


def validate_draft(draft: ScenarioDraft) -> list[str]:
    """Every reason this scenario cannot be saved (an empty list: it can)."""
    problems: list[str] = []
    codes = [step.code for step in draft.steps]
    problems += [f"step code {code!r} is used twice" for code in sorted({c for c in codes if codes.count(c) > 1})]
    offsets = [step.offset_days for step in draft.steps]
    problems += [
        f"two steps fall on D{offset:+d}: give each step its own day so the order is unambiguous"
        for offset in sorted({o for o in offsets if offsets.count(o) > 1})
    ]
    template_codes = [template.code for template in draft.templates]
    problems += [f"template code {c!r} is used twice" for c in sorted({c for c in template_codes if template_codes.count(c) > 1})]
    templates = {template.code: template for template in draft.templates}
    for step in draft.steps:
        problems += _step_problems(step, templates, draft.default_language)
    for template in draft.templates:
        for language, variant in sorted(template.variants.items()):
            for part, text in (("subject", variant.subject), ("body", variant.body)):
                field = f"templates.{template.code}.{language}.{part}"
                if not text.strip():
                    problems.append(f"{field}: must not be empty")
                problems += [f"{p.field}: {p.message}" for p in check_template(text, field=field, allow_internal=False)]
    return problems


def _step_problems(step: Step, templates: dict[str, StepTemplate], default_language: str) -> list[str]:
    where = f"step {step.code!r}"
    problems = []
    if step.automatic and step.type not in SENDABLE:
        problems.append(f"{where}: a {step.type.value} step cannot be automatic (the mailer sends email and letters "
                        "only); make it manual so it lands in the agenda")
    if step.to_be_confirmed and not step.automatic:
        problems.append(f"{where}: to_be_confirmed applies to automatic steps; a manual step always waits in the agenda")
    if step.type in SENDABLE and step.template_code is None:
        problems.append(f"{where}: an {step.type.value} step needs a template_code")
    if step.template_code is not None:
        template = templates.get(step.template_code)
        if template is None:
            problems.append(f"{where}: unknown template {step.template_code!r}")
        elif step.type in SENDABLE and default_language not in template.variants:
            problems.append(f"{where}: template {template.code!r} has no variant in the scenario's default "
                            f"language {default_language!r}")
    return problems


def ensure_valid(draft: ScenarioDraft) -> None:
    problems = validate_draft(draft)
    if problems:
        raise ScenarioInvalid(problems)


def scenario_for(scenarios: list[Scenario], code: str | None) -> Scenario | None:
    """The client's scenario when it names a known one, otherwise the tenant's default."""
    by_code = {scenario.code: scenario for scenario in scenarios}
    if code in by_code:
        return by_code[code]
    return next((s for s in scenarios if s.is_default), scenarios[0] if scenarios else None)


class ScenarioConflict(Exception):
    """The change contradicts the tenant's scenarios as they are (exists, default, version)."""


class ScenarioNotFound(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(f"no scenario {code!r}")
