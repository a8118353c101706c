"""The KPIs a credit manager reads, derived from `Figures` for a given moment (docs/indicators.md).

Deriving is cheap and pure: the same function serves the current KPIs, the KPIs as at a past date
and every point of a time series, so the three can never disagree on a formula.
"""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.indicators.domain.figures import EMPTY, F, ZERO, Figures, epoch_seconds
from shared.contracts.values import Currency

DSO_WINDOW_DAYS = 90
SECONDS_PER_DAY = Decimal(86400)
RATE_PLACES = Decimal("0.0001")
DAYS_PLACES = Decimal("0.1")


class ReportingCurrency(BaseModel):
    """A tenant's reporting currency: KPIs in it add every currency converted at `amount × rate`."""

    currency: Currency
    rates: dict[Currency, Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]] = Field(default_factory=dict,
                                           description="Per currency, how much one unit is worth in `currency`")


class CurrencyKpis(BaseModel):
    """The KPIs of one scope in one currency (or in the tenant's reporting currency)."""

    model_config = ConfigDict(frozen=True)

    currency: str
    open_items: int
    total_outstanding: Decimal
    overdue_outstanding: Decimal
    disputed_outstanding: Decimal
    dispute_rate: Decimal | None
    dispute_rate_by_count: Decimal | None
    open_disputes: int
    average_dispute_age_days: Decimal | None
    oldest_dispute_age_days: int | None
    promises_pending_amount: Decimal
    promises_pending_count: int
    held_in_follow_ups_amount: Decimal
    held_in_follow_ups_count: int
    dso_days: Decimal | None


def currency_kpis(currency: str, figures: Figures, *, at: datetime) -> CurrencyKpis:
    """Every KPI of one currency's figures, as they stand at the moment `at`."""
    today = at.date()
    outstanding = figures.get(F.OUTSTANDING)
    disputed = figures.get(F.DISPUTED_OUTSTANDING)
    open_items = figures.get(F.OPEN_ITEMS)
    disputes = figures.get(F.DISPUTED_ITEMS)
    return CurrencyKpis(
        currency=currency,
        open_items=int(open_items),
        total_outstanding=outstanding,
        overdue_outstanding=overdue(figures, today=today),
        disputed_outstanding=disputed,
        dispute_rate=_ratio(disputed, outstanding),
        dispute_rate_by_count=_ratio(disputes, open_items),
        open_disputes=int(disputes),
        average_dispute_age_days=average_dispute_age_days(figures, at=at),
        oldest_dispute_age_days=oldest_dispute_age_days(figures, today=today),
        promises_pending_amount=figures.get(F.PROMISED_AMOUNT),
        promises_pending_count=int(figures.get(F.PROMISED_ITEMS)),
        held_in_follow_ups_amount=figures.get(F.HELD_AMOUNT),
        held_in_follow_ups_count=int(figures.get(F.HELD_ITEMS)),
        dso_days=dso_countback(outstanding, figures.by_date(F.INVOICED), today=today),
    )


def overdue(figures: Figures, *, today: date) -> Decimal:
    """Open amount of items whose due date is before `today`."""
    return sum((amount for due, amount in figures.by_date(F.DUE).items() if due < today), ZERO)


def average_dispute_age_days(figures: Figures, *, at: datetime) -> Decimal | None:
    """`at` minus the mean start of the open disputes, in days (kept as a sum of start times)."""
    count = figures.get(F.DISPUTED_ITEMS)
    if count <= 0:
        return None
    mean_start = figures.get(F.DISPUTE_SINCE_SUM) / count
    return _days((epoch_seconds(at) - mean_start) / SECONDS_PER_DAY)


def oldest_dispute_age_days(figures: Figures, *, today: date) -> int | None:
    """Whole days since the earliest start day among the open disputes."""
    starts = [day for day, count in figures.by_date(F.DISPUTE_START).items() if count > 0]
    return (today - min(starts)).days if starts else None


def dso_countback(outstanding: Decimal, invoiced: Mapping[date, Decimal], *, today: date,
                  window_days: int = DSO_WINDOW_DAYS) -> Decimal | None:
    """Days sales outstanding by the countback method over the last `window_days` of invoicing.

    Walk back one day at a time from `today`, taking each day's invoicing out of the outstanding:
    a day whose invoicing is fully covered counts 1, the day where the outstanding runs out counts
    the covered fraction. Outstanding left after the window is spread at the window's average daily
    invoicing. None when there is outstanding but no invoicing in the window.
    """
    if outstanding <= 0:
        return Decimal(0).quantize(DAYS_PLACES)
    remaining, days = outstanding, Decimal(0)
    window = [invoiced.get(today - timedelta(days=back), ZERO) for back in range(window_days)]
    for sales in window:
        if sales > 0 and remaining < sales:
            return _days(days + remaining / sales)
        remaining -= max(sales, ZERO)
        days += 1
        if remaining == 0:
            return _days(days)
    total = sum((sales for sales in window if sales > 0), ZERO)
    if total <= 0:
        return None
    return _days(days + remaining / (total / window_days))


class Kpi(StrEnum):
    """The KPIs that are sums, so a change between two dates can be explained item by item."""

    TOTAL_OUTSTANDING = "total_outstanding"
    OVERDUE_OUTSTANDING = "overdue_outstanding"
    DISPUTED_OUTSTANDING = "disputed_outstanding"
    OPEN_ITEMS = "open_items"
    OPEN_DISPUTES = "open_disputes"
    PROMISES_PENDING_AMOUNT = "promises_pending_amount"
    PROMISES_PENDING_COUNT = "promises_pending_count"
    HELD_IN_FOLLOW_UPS_AMOUNT = "held_in_follow_ups_amount"
    HELD_IN_FOLLOW_UPS_COUNT = "held_in_follow_ups_count"
    OPEN_FOLLOW_UPS = "open_follow_ups"


_KPI_FIGURE = {
    Kpi.TOTAL_OUTSTANDING: F.OUTSTANDING,
    Kpi.DISPUTED_OUTSTANDING: F.DISPUTED_OUTSTANDING,
    Kpi.OPEN_ITEMS: F.OPEN_ITEMS,
    Kpi.OPEN_DISPUTES: F.DISPUTED_ITEMS,
    Kpi.PROMISES_PENDING_AMOUNT: F.PROMISED_AMOUNT,
    Kpi.PROMISES_PENDING_COUNT: F.PROMISED_ITEMS,
    Kpi.HELD_IN_FOLLOW_UPS_AMOUNT: F.HELD_AMOUNT,
    Kpi.HELD_IN_FOLLOW_UPS_COUNT: F.HELD_ITEMS,
    Kpi.OPEN_FOLLOW_UPS: F.OPEN_FOLLOW_UPS,
}


def kpi_value(kpi: Kpi, figures: Figures, *, at: datetime) -> Decimal:
    """The value of one additive KPI; linear in `figures` for a fixed moment."""
    if kpi is Kpi.OVERDUE_OUTSTANDING:
        return overdue(figures, today=at.date())
    return figures.get(_KPI_FIGURE[kpi])


def in_reporting_currency(by_currency: Mapping[str, Figures], *, reporting_currency: str,
                          rates: Mapping[str, Decimal]) -> tuple[Figures | None, list[str]]:
    """All currencies converted (`amount × rate`) and added; None with the currencies lacking a rate."""
    missing = sorted(currency for currency in by_currency
                     if currency != reporting_currency and currency not in rates)
    if missing:
        return None, missing
    total = EMPTY
    for currency, figures in by_currency.items():
        rate = Decimal(1) if currency == reporting_currency else rates[currency]
        total = total + figures.scaled(rate)
    return total, []


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    if whole <= 0:
        return None
    return (part / whole).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def _days(value: Decimal) -> Decimal:
    return value.quantize(DAYS_PLACES, rounding=ROUND_HALF_UP)
