"""The hashtags a template may use, each documented once (the API serves this list)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Hashtag:
    name: str
    description: str
    example: str
    internal_only: bool = False  # only in internal interactive emails, never to a client


HASHTAGS: tuple[Hashtag, ...] = (
    Hashtag("items_amount_selected", "Total open amount of the selected items, per currency", "1 234,56 €"),
    Hashtag(
        "items_amount_selected_include_late_penalties",
        "Total open amount of the selected items plus their late penalties",
        "1 290,12 €",
    ),
    Hashtag(
        "items_amount_selected_late_penalties",
        "Late penalties of the selected items: interest pro rata of days late plus the fixed fee per invoice",
        "55,56 €",
    ),
    Hashtag(
        "items_list_selected",
        "Table of the selected items: number, issue and due dates, days late, open amount, status",
        "(an HTML table; a text table in the plain-text part)",
    ),
    Hashtag("items_count_selected", "Number of selected items", "3"),
    Hashtag("client_name", "Client's name", "Dupont SA"),
    Hashtag("client_number", "Client's account number", "C-1042"),
    Hashtag("contact_name", "Name of the contact the email is addressed to", "Marie Dupont"),
    Hashtag("contact_email", "Email address of that contact", "marie@dupont.example"),
    Hashtag("collector_name", "Name of the client's collector", "Jean Martin"),
    Hashtag("collector_email", "Email address of the collector", "jean.martin@acme.example"),
    Hashtag("collector_phone", "Phone number of the collector", "+33 1 23 45 67 89"),
    Hashtag("action_name", "Name of the action or follow-up", "Price dispute — March invoices"),
    Hashtag("action_date", "Scheduled date of the action, in the client's language", "15 mars 2026"),
    Hashtag("action_type", "Type of the action", "follow-up"),
    Hashtag("action_owner_name", "Owner (resolution owner) of the action", "Jean Martin"),
    Hashtag("company_name", "Your company's name", "Acme Industries"),
    Hashtag("company_email", "Your company's email address", "credit@acme.example"),
    Hashtag("company_phone", "Your company's phone number", "+33 1 00 00 00 00"),
    Hashtag("company_address", "Your company's postal address", "1 rue de la Paix, Paris"),
    Hashtag("today", "Today's date, in the recipient's language", "23 novembre 2026"),
    Hashtag("link_url", "The signed link of an internal interactive email", "https://…", internal_only=True),
)


def hashtag_names() -> frozenset[str]:
    return frozenset(tag.name for tag in HASHTAGS)
