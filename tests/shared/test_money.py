"""Late penalties are computed once, in Decimal, by the rule the client's settings state; amounts
are formatted for the reader's language."""

from datetime import date
from decimal import Decimal

import pytest

from shared.contracts.values import ItemKind, LatePenaltySettings
from shared.money import Money, days_late, format_money, late_penalty, round_money, totals_by_currency

TEN_PERCENT_AND_40 = LatePenaltySettings(annual_rate=Decimal("0.10"), fixed_fee=Decimal("40"))


def penalty(open_amount: str, *, due: date, as_of: date, settings: LatePenaltySettings | None = TEN_PERCENT_AND_40,
            kind: ItemKind = ItemKind.INVOICE, currency: str = "EUR") -> Decimal:
    return late_penalty(open_amount=Decimal(open_amount), currency=currency, due_date=due, as_of=as_of,
                        settings=settings, kind=kind)


class TestLatePenalty:
    def test_interest_is_the_annual_rate_pro_rata_of_days_late_plus_the_fixed_fee(self) -> None:
        # 1 000 × 10 % × 30 / 365 = 8.219… → 8.22, plus the 40 fee
        assert penalty("1000.00", due=date(2026, 1, 31), as_of=date(2026, 3, 2)) == Decimal("48.22")

    def test_interest_is_rounded_half_up_to_the_cent(self) -> None:
        # one day late: 182.50 × 10 % / 365 = 0.05 exactly; 18.25 × 10 % / 365 = 0.005 → 0.01 (half-up)
        no_fee = LatePenaltySettings(annual_rate=Decimal("0.10"))
        assert penalty("182.50", due=date(2026, 1, 1), as_of=date(2026, 1, 2), settings=no_fee) == Decimal("0.05")
        assert penalty("18.25", due=date(2026, 1, 1), as_of=date(2026, 1, 2), settings=no_fee) == Decimal("0.01")

    def test_nothing_is_owed_before_or_on_the_due_date(self) -> None:
        assert penalty("1000", due=date(2026, 3, 2), as_of=date(2026, 3, 2)) == Decimal("0.00")
        assert penalty("1000", due=date(2026, 3, 5), as_of=date(2026, 3, 2)) == Decimal("0.00")

    def test_a_client_without_penalty_settings_owes_none(self) -> None:
        assert penalty("1000", due=date(2026, 1, 1), as_of=date(2026, 3, 2), settings=None) == Decimal("0.00")

    def test_credit_notes_payments_and_settled_items_owe_none(self) -> None:
        late = {"due": date(2026, 1, 1), "as_of": date(2026, 3, 2)}
        assert penalty("-100", kind=ItemKind.CREDIT_NOTE, **late) == Decimal("0.00")
        assert penalty("500", kind=ItemKind.PAYMENT_ON_ACCOUNT, **late) == Decimal("0.00")
        assert penalty("0", **late) == Decimal("0.00")

    def test_a_debit_note_owes_penalties_like_an_invoice(self) -> None:
        assert penalty("1000", due=date(2026, 1, 31), as_of=date(2026, 3, 2), kind=ItemKind.DEBIT_NOTE) == Decimal("48.22")

    def test_currencies_without_cents_round_to_units(self) -> None:
        # 100 000 JPY × 10 % × 30 / 365 = 821.9… → 822, plus 40
        assert penalty("100000", due=date(2026, 1, 31), as_of=date(2026, 3, 2), currency="JPY") == Decimal("862")

    def test_the_result_is_a_decimal_never_a_float(self) -> None:
        assert isinstance(penalty("1000", due=date(2026, 1, 31), as_of=date(2026, 3, 2)), Decimal)


class TestAmounts:
    def test_days_late_counts_whole_days_and_never_goes_negative(self) -> None:
        assert days_late(date(2026, 1, 31), date(2026, 3, 2)) == 30
        assert days_late(date(2026, 3, 31), date(2026, 3, 2)) == 0

    def test_totals_are_kept_per_currency_in_order_of_appearance(self) -> None:
        totals = totals_by_currency([Money(Decimal("10.005"), "EUR"), Money(Decimal("5"), "USD"),
                                     Money(Decimal("0.10"), "EUR")])
        assert totals == {"EUR": Decimal("10.11"), "USD": Decimal("5.00")}
        assert list(totals) == ["EUR", "USD"]

    def test_rounding_is_half_up_not_bankers(self) -> None:
        assert round_money(Decimal("0.125"), "EUR") == Decimal("0.13")
        assert round_money(Decimal("2.5"), "JPY") == Decimal("3")

    @pytest.mark.parametrize(("language", "expected"), [
        ("fr", "1\u202f234,56\u00a0€"),  # Babel's French: narrow no-break space between groups
        ("fr-BE", "1\u202f234,56\u00a0€"),
        ("en", "€1,234.56"),
        ("de", "1.234,56\u00a0€"),
        ("zz", "€1,234.56"),  # a language Babel does not know reads as English
    ])
    def test_amounts_are_formatted_for_the_language(self, language: str, expected: str) -> None:
        assert format_money(Decimal("1234.56"), "EUR", language) == expected
