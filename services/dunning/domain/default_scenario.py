"""The scenario every tenant starts with: courtesy email, reminder, call, formal notice, legal hand-over."""

from services.dunning.domain.scenarios import ScenarioDraft, Step, StepTemplate, StepType
from shared.contracts.values import TemplateVariant

DEFAULT_SCENARIO_CODE = "standard"

_COURTESY = StepTemplate(
    code="courtesy",
    name="Courtesy reminder before the due date",
    variants={
        "en": TemplateVariant(
            subject="#client_name: invoices due soon",
            body="Dear #contact_name,\n\nA friendly note that the following invoices fall due shortly "
                 "(total #items_amount_selected):\n\n#items_list_selected\n\n"
                 "If payment is already on its way, thank you and please ignore this message.\n\n"
                 "#collector_name\n#company_name",
        ),
        "fr": TemplateVariant(
            subject="#client_name : factures arrivant à échéance",
            body="Bonjour #contact_name,\n\nPour information, les factures suivantes arrivent bientôt à "
                 "échéance (total #items_amount_selected) :\n\n#items_list_selected\n\n"
                 "Si le règlement est déjà parti, merci et veuillez ignorer ce message.\n\n"
                 "#collector_name\n#company_name",
        ),
    },
)

_REMINDER = StepTemplate(
    code="first-reminder",
    name="First reminder",
    variants={
        "en": TemplateVariant(
            subject="#client_name: overdue invoices (#items_count_selected)",
            body="Dear #contact_name,\n\nOur records show the following invoices unpaid past their due date, "
                 "for a total of #items_amount_selected:\n\n#items_list_selected\n\n"
                 "Please arrange payment or tell us if anything stands in the way.\n\n"
                 "#collector_name — #collector_email\n#company_name",
        ),
        "fr": TemplateVariant(
            subject="#client_name : factures échues (#items_count_selected)",
            body="Bonjour #contact_name,\n\nSauf erreur de notre part, les factures suivantes restent impayées "
                 "après leur échéance, pour un total de #items_amount_selected :\n\n#items_list_selected\n\n"
                 "Merci de procéder au règlement ou de nous signaler toute difficulté.\n\n"
                 "#collector_name — #collector_email\n#company_name",
        ),
    },
)

_FORMAL_NOTICE = StepTemplate(
    code="formal-notice",
    name="Formal notice",
    variants={
        "en": TemplateVariant(
            subject="Formal notice — #client_name",
            body="Dear #contact_name,\n\nDespite our reminders, the invoices below remain unpaid. We hereby give "
                 "you formal notice to pay #items_amount_selected_include_late_penalties, including late "
                 "penalties of #items_amount_selected_late_penalties, within eight days.\n\n"
                 "#items_list_selected\n\n#collector_name\n#company_name\n#company_address",
        ),
        "fr": TemplateVariant(
            subject="Mise en demeure — #client_name",
            body="Bonjour #contact_name,\n\nMalgré nos relances, les factures ci-dessous restent impayées. Nous vous "
                 "mettons en demeure de régler #items_amount_selected_include_late_penalties, dont "
                 "#items_amount_selected_late_penalties de pénalités de retard, sous huit jours.\n\n"
                 "#items_list_selected\n\n#collector_name\n#company_name\n#company_address",
        ),
    },
)


def default_scenario() -> ScenarioDraft:
    """D-5 courtesy email, D+5 first reminder, D+15 call, D+30 formal notice letter, D+45 legal hand-over."""
    return ScenarioDraft(
        code=DEFAULT_SCENARIO_CODE,
        name="Standard collection",
        description="Shipped default: courtesy email, reminder, call, formal notice, legal hand-over.",
        is_default=True,
        default_language="en",
        steps=[
            Step(code="courtesy", name="Courtesy email", offset_days=-5, type=StepType.EMAIL,
                 template_code="courtesy", automatic=True),
            Step(code="first-reminder", name="First reminder", offset_days=5, type=StepType.EMAIL,
                 template_code="first-reminder", automatic=True),
            Step(code="call", name="Reminder call", offset_days=15, type=StepType.CALL),
            Step(code="formal-notice", name="Formal notice letter", offset_days=30, type=StepType.LETTER,
                 template_code="formal-notice", automatic=True, to_be_confirmed=True),
            Step(code="legal-handover", name="Hand over to legal", offset_days=45, type=StepType.TASK),
        ],
        templates=[_COURTESY, _REMINDER, _FORMAL_NOTICE],
    )
