"""Sample render contexts and email requests shared by the mailer's tests and benchmarks."""

from datetime import date
from decimal import Decimal

from shared.contracts.email import (
    EmailPurpose,
    EmailRequested,
    RenderAction,
    RenderClient,
    RenderCompany,
    RenderContext,
    RenderItem,
)
from shared.contracts.values import ActionType, ItemKind, LatePenaltySettings, Recipient, TemplateVariant, UserRef

PENALTIES = LatePenaltySettings(annual_rate=Decimal("0.10"), fixed_fee=Decimal("40"))


def selection() -> list[RenderItem]:
    """Two late invoices and a credit note, all in euros: 1 000,00 + 334,56 − 100,00 = 1 234,56."""
    return [
        RenderItem(item_id="i1", number="F-2026-001", issue_date=date(2026, 1, 1), due_date=date(2026, 1, 31),
                   amount=Decimal("1200.00"), open_amount=Decimal("1000.00"), currency="EUR",
                   status_label="Price dispute"),
        RenderItem(item_id="i2", number="F-2026-002", issue_date=date(2026, 1, 16), due_date=date(2026, 2, 15),
                   amount=Decimal("334.56"), open_amount=Decimal("334.56"), currency="EUR"),
        RenderItem(item_id="i3", number="AV-2026-003", kind=ItemKind.CREDIT_NOTE, issue_date=date(2026, 2, 20),
                   due_date=date(2026, 2, 20), amount=Decimal("-100.00"), open_amount=Decimal("-100.00"),
                   currency="EUR", status_label="Credit note <requested>"),
    ]


def context(*, language: str = "fr", penalties: bool = True, client_id: str = "c-1042",
            link_url: str | None = None) -> RenderContext:
    return RenderContext(
        company=RenderCompany(name="Acme Industries", email="credit@acme.example", phone="+33 1 00 00 00 00",
                              address="1 rue de la Paix, Paris"),
        client=RenderClient(client_id=client_id, number="C-1042", name="Dupont & Fils", language=language,
                            currency="EUR", late_penalties=PENALTIES if penalties else None),
        contact=Recipient(email="marie@dupont.example", name="Marie Dupont"),
        collector=UserRef(user_id="u-jm", name="Jean Martin", email="jean.martin@acme.example",
                          phone="+33 1 23 45 67 89"),
        action=RenderAction(action_id="a-77", name="Price dispute — March invoices", type=ActionType.FOLLOW_UP,
                            scheduled_for=date(2026, 3, 15),
                            owner=UserRef(user_id="u-cm", name="Claire Moreau", email="claire@acme.example")),
        items=selection(),
        link_url=link_url,
        as_of=date(2026, 3, 2),
    )


REMINDER = {
    "en": TemplateVariant(
        subject="Reminder: #items_count_selected items for #client_name",
        body="Dear #contact_name,\n\nYou owe #items_amount_selected.\n\n#items_list_selected\n\n"
             "Regards,\n#collector_name — #company_name",
    ),
    "fr": TemplateVariant(
        subject="Relance : #items_count_selected pièces pour #client_name",
        body="Bonjour #contact_name,\n\nVous nous devez #items_amount_selected.\n\n#items_list_selected\n\n"
             "Cordialement,\n#collector_name — #company_name",
    ),
}


def email_request(n: int, *, to: str | None = None, client_id: str | None = None, language: str = "fr",
                  automatic: bool = True, purpose: EmailPurpose = EmailPurpose.DUNNING_REMINDER,
                  key_prefix: str = "req", **overrides: object) -> EmailRequested:
    client = client_id or f"c-{n % 20}"
    values: dict[str, object] = {
        "request_id": f"{key_prefix}-{n}",
        "idempotency_key": f"{key_prefix}-key-{n}",
        "client_id": client,
        "action_id": f"a-{n}",
        "purpose": purpose,
        "automatic": automatic,
        "to": [Recipient(email=to or f"contact{n}@client{n % 20}.example", name=f"Contact {n}")],
        "variants": REMINDER,
        "language": language,
        "default_language": "en",
        "context": context(language=language, client_id=client),
    }
    values.update(overrides)
    return EmailRequested(**values)  # type: ignore[arg-type]
