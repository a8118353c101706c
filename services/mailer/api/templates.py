"""Templates: the hashtags a template may use, every problem that keeps one from being saved, and
a preview rendered as the client would receive it."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from services.mailer.api.deps import Admin, AnyUser, deps
from services.mailer.domain.preview import preview
from shared.contracts.email import EmailPurpose, RenderContext
from shared.contracts.values import LanguageCode, TemplateVariant
from shared.platform.problems import FieldProblem, ProblemError
from shared.templating import HASHTAGS, TemplateProblem, TemplateRejected, check_template

router = APIRouter()


class HashtagOut(BaseModel):
    name: str
    tag: str = Field(description="What to write in a template")
    description: str
    example: str
    internal_only: bool = Field(description="Only in internal interactive emails, never to a client")


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variants: dict[LanguageCode, TemplateVariant] = Field(min_length=1)
    purpose: EmailPurpose = EmailPurpose.CLIENT


class ProblemOut(BaseModel):
    field: str
    message: str


class CheckOut(BaseModel):
    valid: bool
    problems: list[ProblemOut]


class PreviewIn(TemplateIn):
    language: LanguageCode = Field(description="The client's language")
    default_language: LanguageCode = Field("en", description="The tenant's default language")
    context: RenderContext | None = Field(None, description="The case to render; a sample case when omitted")


class PreviewOut(BaseModel):
    language: str = Field(description="The variant used, after the fallback chain")
    subject: str
    text: str
    html: str


@router.get("/hashtags", tags=["templates"], summary="The hashtags a template may use, documented")
async def list_hashtags(principal: AnyUser) -> list[HashtagOut]:
    return [HashtagOut(name=tag.name, tag=f"#{tag.name}", description=tag.description, example=tag.example,
                       internal_only=tag.internal_only) for tag in HASHTAGS]


@router.post("/templates/check", tags=["templates"], summary="Every problem that keeps a template from being saved")
async def check(body: TemplateIn, principal: AnyUser) -> CheckOut:
    problems = _problems(body)
    return CheckOut(valid=not problems, problems=[ProblemOut(field=p.field, message=p.message) for p in problems])


@router.post("/templates/preview", tags=["templates"], summary="Render a template as the client would receive it",
             responses={422: {"description": "The template cannot be rendered; `errors` lists why"}})
async def preview_template(body: PreviewIn, principal: Admin, request: Request) -> PreviewOut:
    problems = _problems(body)
    try:
        if problems:
            raise TemplateRejected(problems)
        rendered = preview(body.variants, language=body.language, default_language=body.default_language,
                           purpose=body.purpose, context=body.context, today=deps(request).clock.today())
    except TemplateRejected as exc:
        raise ProblemError(422, f"the template cannot be used: {exc}", code="template_rejected",
                           errors=[FieldProblem(field=f"body.{p.field}", message=p.message) for p in exc.problems]
                           ) from None
    return PreviewOut(language=rendered.language, subject=rendered.subject, text=rendered.text, html=rendered.html)


def _problems(body: TemplateIn) -> list[TemplateProblem]:
    internal = body.purpose is EmailPurpose.INTERNAL_INTERACTIVE
    problems: list[TemplateProblem] = []
    for language, variant in sorted(body.variants.items()):
        problems += check_template(variant.subject, field=f"variants.{language}.subject", allow_internal=internal)
        problems += check_template(variant.body, field=f"variants.{language}.body", allow_internal=internal)
    return problems
