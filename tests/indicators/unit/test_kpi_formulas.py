"""The KPI formulas of docs/indicators.md, on worked examples."""

from datetime import UTC, date, datetime
from decimal import Decimal

from services.indicators.domain.figures import F, Figures, dated, epoch_seconds
from services.indicators.domain.kpis import currency_kpis, dso_countback, in_reporting_currency

TODAY = date(2026, 11, 30)


class TestDsoCountback:
    def test_days_are_counted_back_until_the_outstanding_is_used_up(self) -> None:
        invoiced = {date(2026, 11, 30): Decimal(100), date(2026, 11, 28): Decimal(200),
                    date(2026, 11, 27): Decimal(400)}
        # 100 (1 day) + nothing on the 29th (1 day) + 200 (1 day) + 150 of 400 (0.375 day)
        assert dso_countback(Decimal(450), invoiced, today=TODAY) == Decimal("3.4")

    def test_an_exactly_covered_day_counts_whole(self) -> None:
        invoiced = {TODAY: Decimal(100), date(2026, 11, 29): Decimal(200)}
        assert dso_countback(Decimal(300), invoiced, today=TODAY) == Decimal("2.0")

    def test_outstanding_beyond_the_window_is_spread_at_the_average_daily_invoicing(self) -> None:
        # 90 invoiced over the 90-day window: 1 a day; 910 left after the window → 910 more days
        assert dso_countback(Decimal(1000), {date(2026, 10, 1): Decimal(90)}, today=TODAY) == Decimal("1000.0")

    def test_invoicing_outside_the_window_or_in_the_future_is_ignored(self) -> None:
        invoiced = {date(2026, 8, 1): Decimal(1000), date(2026, 12, 5): Decimal(1000)}
        assert dso_countback(Decimal(10), invoiced, today=TODAY) is None

    def test_nothing_outstanding_means_zero_days(self) -> None:
        assert dso_countback(Decimal(0), {}, today=TODAY) == Decimal("0.0")


class TestCurrencyKpis:
    def figures(self) -> Figures:
        since_a, since_b = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC)
        return Figures({
            F.OPEN_ITEMS: Decimal(4), F.OUTSTANDING: Decimal(1000),
            dated(F.DUE, date(2026, 11, 29)): Decimal(300), dated(F.DUE, TODAY): Decimal(200),
            dated(F.DUE, date(2026, 12, 31)): Decimal(500),
            F.DISPUTED_ITEMS: Decimal(2), F.DISPUTED_OUTSTANDING: Decimal(250),
            F.DISPUTE_SINCE_SUM: epoch_seconds(since_a) + epoch_seconds(since_b),
            dated(F.DISPUTE_START, since_a.date()): Decimal(1), dated(F.DISPUTE_START, since_b.date()): Decimal(1),
            dated(F.DISPUTE_START, date(2026, 10, 1)): Decimal(0),
            F.PROMISED_ITEMS: Decimal(1), F.PROMISED_AMOUNT: Decimal(200),
            F.HELD_ITEMS: Decimal(2), F.HELD_AMOUNT: Decimal(250),
            dated(F.INVOICED, TODAY): Decimal(2000),
        })

    def test_overdue_counts_amounts_due_before_today_only(self) -> None:
        kpis = currency_kpis("EUR", self.figures(), at=datetime(2026, 11, 30, 12, tzinfo=UTC))
        assert kpis.overdue_outstanding == Decimal(300)

    def test_rates_ages_and_pending_amounts(self) -> None:
        kpis = currency_kpis("EUR", self.figures(), at=datetime(2026, 11, 30, 12, tzinfo=UTC))
        assert (kpis.dispute_rate, kpis.dispute_rate_by_count) == (Decimal("0.2500"), Decimal("0.5000"))
        assert kpis.average_dispute_age_days == Decimal("6.5")  # 10.5 and 2.5 days
        assert kpis.oldest_dispute_age_days == 10
        assert (kpis.promises_pending_amount, kpis.held_in_follow_ups_count) == (Decimal(200), 2)
        assert kpis.dso_days == Decimal("0.5")

    def test_an_empty_scope_has_no_rates_and_no_ages(self) -> None:
        kpis = currency_kpis("EUR", Figures(), at=datetime(2026, 11, 30, tzinfo=UTC))
        assert (kpis.dispute_rate, kpis.average_dispute_age_days, kpis.oldest_dispute_age_days) == (None, None, None)


class TestReportingCurrency:
    def test_currencies_are_converted_at_the_declared_rates_before_being_added(self) -> None:
        by_currency = {"EUR": Figures({F.OUTSTANDING: Decimal(100), F.OPEN_ITEMS: Decimal(1)}),
                       "USD": Figures({F.OUTSTANDING: Decimal(50), F.OPEN_ITEMS: Decimal(2)})}
        total, missing = in_reporting_currency(by_currency, reporting_currency="EUR", rates={"USD": Decimal("0.9")})
        assert missing == []
        assert total is not None
        assert (total.get(F.OUTSTANDING), total.get(F.OPEN_ITEMS)) == (Decimal(145), Decimal(3))

    def test_a_currency_without_a_rate_is_never_added(self) -> None:
        by_currency = {"EUR": Figures({F.OUTSTANDING: Decimal(100)}), "GBP": Figures({F.OUTSTANDING: Decimal(5)})}
        assert in_reporting_currency(by_currency, reporting_currency="EUR", rates={}) == (None, ["GBP"])
