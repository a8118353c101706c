"""How an aggregate is stored: no document grows with the length of the history."""

from datetime import date
from decimal import Decimal

from services.indicators.adapters.mongo import storage_parts
from services.indicators.domain.figures import EMPTY, F, Figures, dated


class TestStorageParts:
    def test_plain_sums_share_one_document_and_per_date_sums_are_split_by_figure_and_month(self) -> None:
        figures = Figures({F.OUTSTANDING: Decimal(300), F.OPEN_ITEMS: Decimal(2),
                           dated(F.DUE, date(2026, 10, 1)): Decimal(100), dated(F.DUE, date(2026, 10, 31)): Decimal(50),
                           dated(F.DUE, date(2026, 11, 1)): Decimal(150),
                           dated(F.INVOICED, date(2026, 10, 1)): Decimal(300)})
        parts = storage_parts(figures)
        assert set(parts) == {"", "due.2026-10", "due.2026-11", "invoiced.2026-10"}
        assert parts[""] == Figures({F.OUTSTANDING: Decimal(300), F.OPEN_ITEMS: Decimal(2)})
        assert parts["due.2026-10"] == Figures({"due.2026-10-01": Decimal(100), "due.2026-10-31": Decimal(50)})
        assert sum(parts.values(), EMPTY) == figures

    def test_a_year_of_daily_invoicing_stays_in_documents_of_a_month_each(self) -> None:
        figures = Figures({dated(F.INVOICED, date.fromordinal(date(2026, 1, 1).toordinal() + n)): Decimal(1)
                           for n in range(365)})
        parts = storage_parts(figures)
        assert len(parts) == 12 and max(len(part) for part in parts.values()) == 31
