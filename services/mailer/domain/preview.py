"""Template preview for admins: render variants against a given context, or a sample one."""

from datetime import date, timedelta
from decimal import Decimal

from shared.contracts.email import EmailPurpose, RenderAction, RenderClient, RenderCompany, RenderContext, RenderItem
from shared.contracts.values import ActionType, LatePenaltySettings, Recipient, TemplateVariant, UserRef
from shared.templating import RenderedEmail, render_email


def sample_context(*, language: str, today: date) -> RenderContext:
    """A plausible case (two late invoices, a follow-up) so an admin sees every hashtag filled in."""
    return RenderContext(
        company=RenderCompany(name="Acme Industries", email="credit@acme.example", phone="+33 1 00 00 00 00",
                              address="1 rue de la Paix, 75002 Paris"),
        client=RenderClient(client_id="sample", number="C-1042", name="Dupont SA", language=language, currency="EUR",
                            late_penalties=LatePenaltySettings(annual_rate=Decimal("0.10"), fixed_fee=Decimal("40"))),
        contact=Recipient(email="marie.dupont@dupont.example", name="Marie Dupont"),
        collector=UserRef(user_id="sample-collector", name="Jean Martin", email="jean.martin@acme.example",
                          phone="+33 1 23 45 67 89"),
        action=RenderAction(action_id="sample-action", name="Price dispute — March invoices",
                            type=ActionType.FOLLOW_UP, scheduled_for=today + timedelta(days=7),
                            owner=UserRef(user_id="sample-owner", name="Claire Moreau", email="claire@acme.example")),
        items=[
            RenderItem(item_id="s1", number="F-2026-0117", issue_date=today - timedelta(days=75),
                       due_date=today - timedelta(days=45), amount=Decimal("1000.00"), open_amount=Decimal("1000.00"),
                       currency="EUR", status_label="Price dispute"),
            RenderItem(item_id="s2", number="F-2026-0142", issue_date=today - timedelta(days=50),
                       due_date=today - timedelta(days=20), amount=Decimal("234.56"), open_amount=Decimal("234.56"),
                       currency="EUR"),
        ],
        link_url="https://followups.example/l/sample",
        as_of=today,
    )


def preview(
    variants: dict[str, TemplateVariant],
    *,
    language: str,
    default_language: str,
    purpose: EmailPurpose,
    context: RenderContext | None,
    today: date,
) -> RenderedEmail:
    """What the email would look like; raises TemplateRejected with every problem."""
    context = context or sample_context(language=language, today=today)
    return render_email(variants=variants, language=language, default_language=default_language, context=context,
                        allow_internal=purpose is EmailPurpose.INTERNAL_INTERACTIVE)
