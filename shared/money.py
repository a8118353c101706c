"""Money: Decimal amounts with their currency, late penalties (the one function), and formatting.

Never a float: amounts are `Decimal`, rounded half-up to the currency's minor unit (2 digits for EUR,
0 for JPY, as Babel's CLDR data says). Formatting follows the reader's language through Babel:
`1 234,56 €` in French (narrow no-break space U+202F between groups, no-break space before €),
`€1,234.56` in English.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision

from shared.contracts.values import ItemKind, LatePenaltySettings

DAYS_PER_YEAR = Decimal(365)  # the legal basis of a pro-rata annual rate (French Code de commerce L441-10)
DEBT_KINDS = frozenset({ItemKind.INVOICE, ItemKind.DEBIT_NOTE})  # items that fall due, can be late and bear penalties


@dataclass(frozen=True)
class Money:
    """An amount and its ISO 4217 currency."""

    amount: Decimal
    currency: str

    def format(self, language: str) -> str:
        return format_money(self.amount, self.currency, language)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of a currency: Decimal('0.01') for EUR, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (the commercial rule, not banker's rounding)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def days_late(due_date: date, as_of: date) -> int:
    """Whole days past the due date on `as_of`; 0 when not yet due."""
    return max((as_of - due_date).days, 0)


def late_penalty(
    *,
    open_amount: Decimal,
    currency: str,
    due_date: date,
    as_of: date,
    settings: LatePenaltySettings | None,
    kind: ItemKind = ItemKind.INVOICE,
) -> Decimal:
    """Late penalties of one item on `as_of`: interest at the annual rate pro rata of days late
    (365-day year, rounded half-up to the minor unit) plus the fixed recovery fee, once per item.

    Nothing is owed when the client has no penalty settings, the item is not yet due, nothing is
    open, or the item is not an invoice or debit note (a credit note or payment owes nothing).
    The fee is taken to be in the item's currency.
    """
    late = days_late(due_date, as_of)
    if settings is None or late == 0 or open_amount <= 0 or kind not in DEBT_KINDS:
        return round_money(Decimal(0), currency)
    interest = round_money(open_amount * settings.annual_rate * late / DAYS_PER_YEAR, currency)
    return interest + round_money(settings.fixed_fee, currency)


def totals_by_currency(amounts: Iterable[Money]) -> dict[str, Decimal]:
    """Sum amounts per currency, in order of first appearance."""
    totals: dict[str, Decimal] = {}
    for money in amounts:
        totals[money.currency] = totals.get(money.currency, Decimal(0)) + money.amount
    return {currency: round_money(total, currency) for currency, total in totals.items()}


@lru_cache(maxsize=256)
def babel_locale(language: str) -> Locale:
    """A Babel locale for a language code (`fr`, `fr-BE`); English when Babel does not know it."""
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


@lru_cache(maxsize=8192)  # a burst of reminders repeats amounts; Babel costs ~30 µs a call
def format_money(amount: Decimal, currency: str, language: str) -> str:
    """`1 234,56 €` (fr), `€1,234.56` (en): the amount rounded to the currency's minor unit."""
    return format_currency(round_money(amount, currency), currency, locale=babel_locale(language))
