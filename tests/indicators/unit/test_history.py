"""The history: a past state is the sum of the changes up to it; a move between two dates is
explained by its items and events, largest first, and the explanation adds up exactly."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.indicators.domain.figures import Figures
from services.indicators.domain.history import explain, roll_forward
from services.indicators.domain.kpis import Kpi, kpi_value
from shared.contracts.receivables import ItemsDetached, ItemStatusChanged, ItemStatusDefined, ItemsUpserted
from shared.contracts.values import ActionType, StatusCategory
from tests.indicators.desk import START, Desk
from tests.indicators.fakes import item

UPSERTED = 3  # the first three entries: items a, b and c upserted


async def scenario() -> Desk:
    desk = Desk()
    await desk.send(ItemStatusDefined(code="d", labels={"en": "d"}, category=StatusCategory.DISPUTE,
                                      counts_as_dispute=True, takes_out_of_dunning=True, version=1))
    await desk.send(ItemsUpserted(client_id="c1", items=[
        item("a", open_amount="100", due_date=date(2026, 11, 3)), item("b", open_amount="700"),
        item("c", open_amount="40", due_date=date(2026, 11, 10))]))
    for version, (held, amount) in enumerate([(None, "700"), ("f", "700"), ("f", "650")], start=2):
        payload = (ItemsDetached(client_id="c1", action_id="f", action_type=ActionType.FOLLOW_UP, items=[
            item("b", version=version, open_amount=amount, amount="700", status_code="d", held_by=held,
                 held_type=ActionType.FOLLOW_UP)]) if held else
            ItemStatusChanged(client_id="c1", status_code="d", items=[item("b", version=version, open_amount=amount,
                                                                          status_code="d")]))
        await desk.send(payload)
    await desk.send(ItemsDetached(client_id="c1", action_id="f", action_type=ActionType.FOLLOW_UP, items=[
        item("a", version=2, open_amount="100", status_code="d", held_by="f", held_type=ActionType.FOLLOW_UP,
             due_date=date(2026, 11, 3))]))
    return desk


class TestHistory:
    async def test_the_figures_at_any_moment_are_the_changes_logged_up_to_it(self) -> None:
        desk = await scenario()
        entries = desk.store.history["acme"]
        before_dispute = roll_forward({}, [e for e in entries if e.at <= entries[UPSERTED - 1].at], "client:c1")
        held = roll_forward({}, [e for e in entries if e.at <= entries[UPSERTED].at], "client:c1")
        assert before_dispute["EUR"].get("outstanding") == Decimal(840)
        assert before_dispute["EUR"].get("disputed_outstanding") == Decimal(0)
        assert held["EUR"].get("disputed_outstanding") == Decimal(700)
        assert roll_forward({}, entries, "client:c1")["EUR"] == desk.figures()

    async def test_a_move_is_explained_largest_first_and_adds_up(self) -> None:
        desk = await scenario()
        entries = desk.store.history["acme"]
        start_at = entries[UPSERTED - 1].at  # after the items were upserted
        start = roll_forward({}, entries[:UPSERTED], "client:c1")["EUR"]
        end_at = START + timedelta(days=30)
        explanation = explain(kpi=Kpi.DISPUTED_OUTSTANDING, scope="client:c1", currency="EUR", start=start,
                              entries=entries[UPSERTED:], from_at=start_at, to_at=end_at, limit=10)
        assert [(m.subject_id, m.change) for m in explanation.movers] == [("b", Decimal(650)), ("a", Decimal(100))]
        assert [e.change for e in explanation.movers[0].events] == [Decimal(700), Decimal(-50)]
        assert explanation.change == Decimal(750) == sum(m.change for m in explanation.movers)

    async def test_overdue_moves_include_what_fell_due_between_the_dates(self) -> None:
        desk = await scenario()
        entries = desk.store.history["acme"]
        start = roll_forward({}, entries[:UPSERTED], "client:c1")["EUR"]
        from_at, to_at = datetime(2026, 11, 2, 12, tzinfo=UTC), datetime(2026, 11, 12, tzinfo=UTC)
        explanation = explain(kpi=Kpi.OVERDUE_OUTSTANDING, scope="client:c1", currency="EUR", start=start,
                              entries=entries[UPSERTED:], from_at=from_at, to_at=to_at, limit=1)
        assert explanation.time_effect is not None
        assert explanation.time_effect.by_due_date == {"2026-11-03": Decimal(100), "2026-11-10": Decimal(40)}
        assert explanation.more_movers == 0 and [m.subject_id for m in explanation.movers] == ["b"]
        movers = sum(m.change for m in explanation.movers) + explanation.more_movers_change
        assert explanation.change == movers + explanation.time_effect.change == Decimal(90)
        assert explanation.value_to == kpi_value(Kpi.OVERDUE_OUTSTANDING, desk.figures(), at=to_at)
        assert explanation.value_from == kpi_value(Kpi.OVERDUE_OUTSTANDING, start, at=from_at) == Decimal(700)

    def test_an_empty_history_explains_nothing(self) -> None:
        at = datetime(2026, 11, 1, tzinfo=UTC)
        explanation = explain(kpi=Kpi.TOTAL_OUTSTANDING, scope="tenant", currency="EUR", start=Figures(), entries=[],
                              from_at=at, to_at=at, limit=5)
        assert (explanation.change, explanation.movers, explanation.time_effect) == (Decimal(0), [], None)
