"""Every hashtag renders its exact value, in English and French, with and without late penalties."""

import re

import pytest

from shared.contracts.values import TemplateVariant
from shared.templating import HASHTAGS, render_email
from shared.templating.values import hashtag_values
from tests.mailer.samples import context

NNBSP, NBSP = "\u202f", "\u00a0"  # what Babel puts between digit groups and before € in French

EXPECTED = {
    "fr": {
        "items_amount_selected": f"1{NNBSP}234,56{NBSP}€",
        # F-2026-001: 1 000 × 10 % × 30/365 = 8,22 + 40; F-2026-002: 334,56 × 10 % × 15/365 = 1,37 + 40
        "items_amount_selected_late_penalties": f"89,59{NBSP}€",
        "items_amount_selected_include_late_penalties": f"1{NNBSP}324,15{NBSP}€",
        "items_count_selected": 3,
        "client_name": "Dupont & Fils",
        "client_number": "C-1042",
        "contact_name": "Marie Dupont",
        "contact_email": "marie@dupont.example",
        "collector_name": "Jean Martin",
        "collector_email": "jean.martin@acme.example",
        "collector_phone": "+33 1 23 45 67 89",
        "action_name": "Price dispute — March invoices",
        "action_date": "15 mars 2026",
        "action_type": "suivi",
        "action_owner_name": "Claire Moreau",
        "company_name": "Acme Industries",
        "company_email": "credit@acme.example",
        "company_phone": "+33 1 00 00 00 00",
        "company_address": "1 rue de la Paix, Paris",
        "today": "2 mars 2026",
        "link_url": "https://followups.acme.example/l/abc",
    },
    "en": {
        "items_amount_selected": "€1,234.56",
        "items_amount_selected_late_penalties": "€89.59",
        "items_amount_selected_include_late_penalties": "€1,324.15",
        "items_count_selected": 3,
        "client_name": "Dupont & Fils",
        "client_number": "C-1042",
        "contact_name": "Marie Dupont",
        "contact_email": "marie@dupont.example",
        "collector_name": "Jean Martin",
        "collector_email": "jean.martin@acme.example",
        "collector_phone": "+33 1 23 45 67 89",
        "action_name": "Price dispute — March invoices",
        "action_date": "March 15, 2026",
        "action_type": "follow-up",
        "action_owner_name": "Claire Moreau",
        "company_name": "Acme Industries",
        "company_email": "credit@acme.example",
        "company_phone": "+33 1 00 00 00 00",
        "company_address": "1 rue de la Paix, Paris",
        "today": "March 2, 2026",
        "link_url": "https://followups.acme.example/l/abc",
    },
}
WITHOUT_PENALTIES = {
    "fr": {"items_amount_selected_late_penalties": f"0,00{NBSP}€",
           "items_amount_selected_include_late_penalties": f"1{NNBSP}234,56{NBSP}€"},
    "en": {"items_amount_selected_late_penalties": "€0.00",
           "items_amount_selected_include_late_penalties": "€1,234.56"},
}
TEXT_TABLE = {
    "fr": [
        "N°           Date d'émission  Échéance       Jours de retard  Montant dû  Statut",
        f"F-2026-001   1 janv. 2026     31 janv. 2026               30  1{NNBSP}000,00{NBSP}€  Price dispute",
        f"F-2026-002   16 janv. 2026    15 févr. 2026               15    334,56{NBSP}€",
        f"AV-2026-003  20 févr. 2026    20 févr. 2026                    -100,00{NBSP}€  Credit note <requested>",
    ],
    "en": [
        "Number       Issue date    Due date      Days late  Open amount  Status",
        "F-2026-001   Jan 1, 2026   Jan 31, 2026         30    €1,000.00  Price dispute",
        "F-2026-002   Jan 16, 2026  Feb 15, 2026         15      €334.56",
        "AV-2026-003  Feb 20, 2026  Feb 20, 2026" + " " * 16 + "-€100.00  Credit note <requested>",
    ],
}
# a credit note is never late: its days-late cell stays empty
HTML_ROWS = {
    "fr": [
        ["N°", "Date d&#39;émission", "Échéance", "Jours de retard", "Montant dû", "Statut"],
        ["F-2026-001", "1 janv. 2026", "31 janv. 2026", "30", f"1{NNBSP}000,00{NBSP}€", "Price dispute"],
        ["F-2026-002", "16 janv. 2026", "15 févr. 2026", "15", f"334,56{NBSP}€", ""],
        ["AV-2026-003", "20 févr. 2026", "20 févr. 2026", "", f"-100,00{NBSP}€", "Credit note &lt;requested&gt;"],
    ],
    "en": [
        ["Number", "Issue date", "Due date", "Days late", "Open amount", "Status"],
        ["F-2026-001", "Jan 1, 2026", "Jan 31, 2026", "30", "€1,000.00", "Price dispute"],
        ["F-2026-002", "Jan 16, 2026", "Feb 15, 2026", "15", "€334.56", ""],
        ["AV-2026-003", "Feb 20, 2026", "Feb 20, 2026", "", "-€100.00", "Credit note &lt;requested&gt;"],
    ],
}
LINK = "https://followups.acme.example/l/abc"


def cells(html: str) -> list[list[str]]:
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row) for row in re.findall(r"<tr>(.*?)</tr>", html)]


def render_one(hashtag: str, language: str, *, penalties: bool = True, html: bool = False) -> str:
    variant = TemplateVariant(subject="s", body=f"#{hashtag}")
    rendered = render_email(variants={language: variant}, language=language, default_language="en",
                            context=context(language=language, penalties=penalties, link_url=LINK))
    if not html:
        return rendered.text.rstrip("\n")
    return re.search(r'<div style="margin:0 0 1em">(.*?)</div>\n', rendered.html, re.S).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize("language", ["fr", "en"])
class TestHashtagsRender:
    def test_the_catalogue_and_the_values_name_the_same_hashtags(self, language: str) -> None:
        values = hashtag_values(context(language=language), language=language, html=False)
        assert set(values) == {tag.name for tag in HASHTAGS}
        assert set(EXPECTED[language]) | {"items_list_selected"} == set(values)

    @pytest.mark.parametrize("hashtag", sorted(EXPECTED["en"]))
    def test_each_hashtag_renders_its_exact_value_with_late_penalties(self, language: str, hashtag: str) -> None:
        assert render_one(hashtag, language) == str(EXPECTED[language][hashtag])

    @pytest.mark.parametrize("hashtag", sorted(EXPECTED["en"]))
    def test_each_hashtag_renders_its_exact_value_without_late_penalties(self, language: str, hashtag: str) -> None:
        expected = {**EXPECTED[language], **WITHOUT_PENALTIES[language]}[hashtag]
        assert render_one(hashtag, language, penalties=False) == str(expected)

    def test_html_values_are_escaped(self, language: str) -> None:
        assert render_one("client_name", language, html=True) == "Dupont &amp; Fils"

    def test_items_list_is_an_aligned_text_table_in_the_text_part(self, language: str) -> None:
        assert render_one("items_list_selected", language).split("\n") == TEXT_TABLE[language]

    def test_items_list_is_an_html_table_in_the_html_part(self, language: str) -> None:
        html = render_one("items_list_selected", language, html=True)
        assert html.startswith("<table") and html.endswith("</table>")
        assert cells(html) == HTML_ROWS[language]

    def test_the_whole_email_reads_in_the_language(self, language: str) -> None:
        from tests.mailer.samples import REMINDER

        rendered = render_email(variants=REMINDER, language=language, default_language="en",
                                context=context(language=language))
        subject = {"fr": "Relance : 3 pièces pour Dupont & Fils", "en": "Reminder: 3 items for Dupont & Fils"}
        assert rendered.subject == subject[language]
        assert rendered.language == language
        assert f'<html lang="{language}">' in rendered.html
        assert EXPECTED[language]["items_amount_selected"] in rendered.text
        assert TEXT_TABLE[language][1] in rendered.text
