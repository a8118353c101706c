"""The values behind every hashtag, computed from a render context in the reader's language.

Amounts are Decimal, summed per currency, penalties from `shared.money.late_penalty`; amounts and
dates are formatted with Babel. `#items_list_selected` is an HTML table in the HTML part and an
aligned text table in the plain-text part. A hashtag whose value is unknown (no collector, no
action) renders as an empty string: the template was checked when it was saved.
"""

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from markupsafe import Markup, escape

from shared.contracts.email import RenderContext, RenderItem
from shared.contracts.values import ActionType, Recipient
from shared.money import DEBT_KINDS, Money, babel_locale, days_late, format_money, late_penalty, totals_by_currency

COLUMNS = ("number", "issue_date", "due_date", "days_late", "open_amount", "status")
RIGHT_ALIGNED = frozenset({"days_late", "open_amount"})

LABELS: dict[str, dict[str, str]] = {
    "en": {"number": "Number", "issue_date": "Issue date", "due_date": "Due date", "days_late": "Days late",
           "open_amount": "Open amount", "status": "Status"},
    "fr": {"number": "N°", "issue_date": "Date d'émission", "due_date": "Échéance", "days_late": "Jours de retard",
           "open_amount": "Montant dû", "status": "Statut"},
    "de": {"number": "Nummer", "issue_date": "Rechnungsdatum", "due_date": "Fälligkeit", "days_late": "Verzugstage",
           "open_amount": "Offener Betrag", "status": "Status"},
    "es": {"number": "Número", "issue_date": "Fecha de emisión", "due_date": "Vencimiento",
           "days_late": "Días de retraso", "open_amount": "Importe pendiente", "status": "Estado"},
}
ACTION_TYPES: dict[str, dict[ActionType, str]] = {
    "en": {ActionType.EMAIL: "email", ActionType.CALL: "call", ActionType.LETTER: "letter", ActionType.SMS: "SMS",
           ActionType.TASK: "task", ActionType.FOLLOW_UP: "follow-up"},
    "fr": {ActionType.EMAIL: "e-mail", ActionType.CALL: "appel", ActionType.LETTER: "courrier",
           ActionType.SMS: "SMS", ActionType.TASK: "tâche", ActionType.FOLLOW_UP: "suivi"},
    "de": {ActionType.EMAIL: "E-Mail", ActionType.CALL: "Anruf", ActionType.LETTER: "Brief", ActionType.SMS: "SMS",
           ActionType.TASK: "Aufgabe", ActionType.FOLLOW_UP: "Nachverfolgung"},
    "es": {ActionType.EMAIL: "correo", ActionType.CALL: "llamada", ActionType.LETTER: "carta", ActionType.SMS: "SMS",
           ActionType.TASK: "tarea", ActionType.FOLLOW_UP: "seguimiento"},
}
AMOUNT_SEPARATOR = " + "  # between totals of different currencies
TABLE_STYLE = "border-collapse:collapse;font-size:14px"
CELL_STYLE = "border:1px solid #d0d7de;padding:4px 8px"


def _base(language: str) -> str:
    return language.split("-")[0].split("_")[0].lower()


def labels_for(language: str) -> dict[str, str]:
    return LABELS.get(_base(language), LABELS["en"])


@lru_cache(maxsize=8192)  # due dates repeat across a burst of reminders
def format_day(day: date | None, language: str, style: str = "long") -> str:
    """`15 mars 2026` (fr, long), `March 15, 2026` (en, long); empty when there is no date."""
    return format_date(day, format=style, locale=babel_locale(language)) if day else ""


def item_penalty(item: RenderItem, context: RenderContext) -> Decimal:
    return late_penalty(
        open_amount=item.open_amount, currency=item.currency, due_date=item.due_date, as_of=context.as_of,
        settings=context.client.late_penalties, kind=item.kind,
    )


def _amount(context: RenderContext, language: str, value: Callable[[RenderItem], Decimal]) -> str:
    totals = totals_by_currency(Money(value(item), item.currency) for item in context.items)
    if not totals:
        totals = {context.client.currency: Decimal(0)}
    return AMOUNT_SEPARATOR.join(format_money(total, currency, language) for currency, total in totals.items())


def item_rows(context: RenderContext, language: str) -> list[dict[str, str]]:
    """One formatted row per selected item, for either table."""
    return [
        {
            "number": item.number,
            "issue_date": format_day(item.issue_date, language, "medium"),
            "due_date": format_day(item.due_date, language, "medium"),
            "days_late": str(days_late(item.due_date, context.as_of)) if item.kind in DEBT_KINDS else "",
            "open_amount": format_money(item.open_amount, item.currency, language),
            "status": item.status_label or "",
        }
        for item in context.items
    ]


def items_table_html(context: RenderContext, language: str, rows: list[dict[str, str]] | None = None) -> Markup:
    """One line of HTML (inline styles: mail clients drop <style>), every value escaped."""
    labels = labels_for(language)
    rows = item_rows(context, language) if rows is None else rows

    def cell(tag: str, column: str, text: str) -> str:
        align = "right" if column in RIGHT_ALIGNED else "left"
        return f'<{tag} style="{CELL_STYLE};text-align:{align}">{escape(text)}</{tag}>'

    head = "".join(cell("th", column, labels[column]) for column in COLUMNS)
    body = "".join(
        "<tr>" + "".join(cell("td", column, row[column]) for column in COLUMNS) + "</tr>"
        for row in rows
    )
    return Markup(f'<table style="{TABLE_STYLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def items_table_text(context: RenderContext, language: str, rows: list[dict[str, str]] | None = None) -> str:
    """Columns padded to their widest cell, amounts and days right-aligned, two spaces apart."""
    labels = labels_for(language)
    body = item_rows(context, language) if rows is None else rows
    rows = [{column: labels[column] for column in COLUMNS}, *body]
    widths = {column: max(len(row[column]) for row in rows) for column in COLUMNS}

    def line(row: dict[str, str]) -> str:
        cells = [
            row[column].rjust(widths[column]) if column in RIGHT_ALIGNED else row[column].ljust(widths[column])
            for column in COLUMNS
        ]
        return "  ".join(cells).rstrip()

    return "\n".join(line(row) for row in rows)


def hashtag_values(
    context: RenderContext, *, language: str, html: bool, contact: Recipient | None = None
) -> dict[str, Any]:
    """Every catalogue hashtag's value for this context, in `language`, for the HTML or text part."""
    text_values, html_values = values_for_both_parts(context, language=language, contact=contact)
    return html_values if html else text_values


def values_for_both_parts(
    context: RenderContext, *, language: str, contact: Recipient | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The values for the plain-text part and for the HTML part, computed once."""
    rows = item_rows(context, language)
    text_values = _values(context, language=language, contact=contact)
    text_values["items_list_selected"] = items_table_text(context, language, rows)
    html_values = {**text_values, "items_list_selected": items_table_html(context, language, rows)}
    return text_values, html_values


def _values(context: RenderContext, *, language: str, contact: Recipient | None) -> dict[str, Any]:
    contact = context.contact or contact
    action, collector, company, client = context.action, context.collector, context.company, context.client
    action_types = ACTION_TYPES.get(_base(language), ACTION_TYPES["en"])
    return {
        "items_amount_selected": _amount(context, language, lambda item: item.open_amount),
        "items_amount_selected_late_penalties": _amount(context, language, lambda item: item_penalty(item, context)),
        "items_amount_selected_include_late_penalties": _amount(
            context, language, lambda item: item.open_amount + item_penalty(item, context)
        ),
        "items_count_selected": len(context.items),
        "client_name": client.name,
        "client_number": client.number,
        "contact_name": (contact.name or "") if contact else "",
        "contact_email": contact.email if contact else "",
        "collector_name": collector.name if collector else "",
        "collector_email": collector.email if collector else "",
        "collector_phone": (collector.phone or "") if collector else "",
        "action_name": action.name if action else "",
        "action_date": format_day(action.scheduled_for, language) if action else "",
        "action_type": action_types[action.type] if action else "",
        "action_owner_name": action.owner.name if action and action.owner else "",
        "company_name": company.name,
        "company_email": company.email or "",
        "company_phone": company.phone or "",
        "company_address": company.address or "",
        "today": format_day(context.as_of, language),
        "link_url": context.link_url or "",
    }
