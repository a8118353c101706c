"""The history of the figures: one entry per change, so any past state can be rebuilt and any move
between two dates explained, item by item and event by event (pure Python).

An entry keeps what its subject counted as before and after the change; the difference it made to
a scope is derived from those, so one entry serves every scope the subject rolls up to. A
correction (written by a repairing recompute) carries its difference explicitly.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.indicators.domain.facts import CountedAction, CountedItem
from services.indicators.domain.figures import EMPTY, Figures, change
from services.indicators.domain.kpis import Kpi, kpi_value

def start_of(day: date) -> datetime:
    """Days are UTC days."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def end_of(day: date) -> datetime:
    """The last instant of a day: the moment a daily point stands for."""
    return start_of(day + timedelta(days=1)) - timedelta(microseconds=1)


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included (none when `last` is before `first`)."""
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


CountedAny = Annotated[CountedItem | CountedAction, Field(discriminator="kind")]


class EventRef(BaseModel):
    """The event that caused a change."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    event_type: str
    event_time: datetime


class LogEntry(BaseModel):
    """One change to the figures, at the moment the service applied it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    at: datetime
    event: EventRef
    subject_kind: Literal["item", "action", "correction"]
    subject_id: str
    client_id: str | None = None
    before: CountedAny | None = None
    after: CountedAny | None = None
    correction: dict[str, dict[str, Decimal]] | None = None  # currency → flat figures, for one scope
    scopes: list[str]

    def deltas(self) -> dict[tuple[str, str], Figures]:
        """The difference this entry made, per (scope, currency)."""
        if self.correction is not None:
            return {(self.scopes[0], currency): Figures(values) for currency, values in self.correction.items()}
        return {(key.scope, key.currency): figures for key, figures in change(self.before, self.after).items()}

    def delta_for(self, scope: str) -> dict[str, Figures]:
        """The difference this entry made to one scope, per currency."""
        return {currency: figures for (entry_scope, currency), figures in self.deltas().items()
                if entry_scope == scope}


def day_sums(entries: Iterable["LogEntry"]) -> dict[tuple[str, str], Figures]:
    """The differences a set of entries made, summed per (scope, currency)."""
    sums: dict[tuple[str, str], Figures] = defaultdict(lambda: EMPTY)
    for entry in entries:
        for key, delta in entry.deltas().items():
            sums[key] = sums[key] + delta
    return dict(sums)


def scopes_touched(before: CountedItem | CountedAction | None, after: CountedItem | CountedAction | None) -> list[str]:
    """Every scope an entry may concern: those of the old and of the new count."""
    scopes: list[str] = []
    for counted in (before, after):
        for scope in counted.scopes if counted is not None else []:
            if scope not in scopes:
                scopes.append(scope)
    return scopes


def roll_forward(base: Mapping[str, Figures], entries: Iterable[LogEntry], scope: str) -> dict[str, Figures]:
    """A scope's figures per currency: `base` plus every entry's difference to that scope."""
    state = dict(base)
    for entry in entries:
        for currency, delta in entry.delta_for(scope).items():
            state[currency] = state.get(currency, EMPTY) + delta
    return {currency: figures for currency, figures in state.items() if figures}


class EventMove(BaseModel):
    event_id: str
    event_type: str
    at: datetime
    change: Decimal


class Mover(BaseModel):
    """One item (or action, or correction) and the events through which it moved the KPI."""

    subject_kind: str
    subject_id: str
    client_id: str | None
    change: Decimal
    events: list[EventMove]


class TimeEffect(BaseModel):
    """What time alone changed: open amounts that fell due between the two dates (overdue only)."""

    change: Decimal
    by_due_date: dict[str, Decimal]


class Explanation(BaseModel):
    kpi: Kpi
    scope: str
    currency: str
    from_at: datetime
    to_at: datetime
    value_from: Decimal
    value_to: Decimal
    change: Decimal
    movers: list[Mover]
    more_movers: int = Field(description="Movers left out by the limit")
    more_movers_change: Decimal = Field(description="What the left-out movers changed, together")
    time_effect: TimeEffect | None


def explain(*, kpi: Kpi, scope: str, currency: str, start: Figures, entries: Iterable[LogEntry],
            from_at: datetime, to_at: datetime, limit: int) -> Explanation:
    """Who moved `kpi` of `scope` between two moments: movers, largest first, plus the time effect.

    `start` is the scope's figures at `from_at` and `entries` the changes after it up to `to_at`;
    the movers' changes plus the time effect add up exactly to `value_to - value_from`.
    """
    moves: dict[tuple[str, str], list[EventMove]] = defaultdict(list)
    clients: dict[tuple[str, str], str | None] = {}
    end = start
    for entry in entries:
        delta = entry.delta_for(scope).get(currency)
        if delta is None:
            continue
        end = end + delta
        value = kpi_value(kpi, delta, at=to_at)
        if value:
            subject = (entry.subject_kind, entry.subject_id)
            clients[subject] = entry.client_id
            moves[subject].append(EventMove(event_id=entry.event.event_id, event_type=entry.event.event_type,
                                            at=entry.at, change=value))
    movers = [Mover(subject_kind=kind, subject_id=subject_id, client_id=clients[(kind, subject_id)],
                    change=sum((move.change for move in events), Decimal(0)), events=events)
              for (kind, subject_id), events in moves.items()]
    movers = sorted((mover for mover in movers if mover.change), key=lambda m: (-abs(m.change), m.subject_id))
    shown, rest = movers[:limit], movers[limit:]
    value_from, value_to = kpi_value(kpi, start, at=from_at), kpi_value(kpi, end, at=to_at)
    return Explanation(
        kpi=kpi, scope=scope, currency=currency, from_at=from_at, to_at=to_at, value_from=value_from,
        value_to=value_to, change=value_to - value_from, movers=shown, more_movers=len(rest),
        more_movers_change=sum((mover.change for mover in rest), Decimal(0)),
        time_effect=_time_effect(kpi, start, from_at=from_at, to_at=to_at),
    )


def _time_effect(kpi: Kpi, start: Figures, *, from_at: datetime, to_at: datetime) -> TimeEffect | None:
    if kpi is not Kpi.OVERDUE_OUTSTANDING:
        return None
    first, last = from_at.date(), to_at.date()
    fell_due = {day.isoformat(): amount for day, amount in sorted(start.by_date("due").items())
                if first <= day < last and amount}
    return TimeEffect(change=sum(fell_due.values(), Decimal(0)), by_due_date=fell_due)
