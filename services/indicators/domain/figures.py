"""Figures: the additive state behind the KPIs, and what one item or action adds to it.

Every KPI is derived from a handful of sums kept per scope and currency (`Figures`). Sums add and
subtract exactly (Decimal), so a change is applied as `contribution(after) - contribution(before)`
and a past state is a base plus the changes logged since. Time-dependent KPIs (overdue outstanding,
dispute ages, DSO) are kept as sums per date (`due.<date>`, `dispute_start.<date>`,
`invoiced.<date>`) and evaluated for the moment asked.
"""

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import NamedTuple

from services.indicators.domain.facts import Counted, CountedAction, CountedItem

ZERO = Decimal(0)
ONE = Decimal(1)
EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
NO_CURRENCY = "*"  # figures that are not money (open follow-ups) are kept under this currency


class F:
    """Names of the figures (flat keys; `prefix.<date>` for the per-date sums)."""

    OPEN_ITEMS = "open_items"
    OUTSTANDING = "outstanding"
    DISPUTED_ITEMS = "disputed_items"
    DISPUTED_OUTSTANDING = "disputed_outstanding"
    DISPUTE_SINCE_SUM = "dispute_since_sum"  # seconds since the epoch, summed over open disputes
    PROMISED_ITEMS = "promised_items"
    PROMISED_AMOUNT = "promised_amount"
    HELD_ITEMS = "held_items"
    HELD_AMOUNT = "held_amount"
    OPEN_FOLLOW_UPS = "open_follow_ups"
    DUE = "due"  # due.<due date>: open amount falling due that day
    INVOICED = "invoiced"  # invoiced.<issue date>: invoices and debit notes issued that day
    DISPUTE_START = "dispute_start"  # dispute_start.<date>: open disputes that started that day

    MONEY = frozenset({OUTSTANDING, DISPUTED_OUTSTANDING, PROMISED_AMOUNT, HELD_AMOUNT, DUE, INVOICED})


def dated(prefix: str, day: date) -> str:
    return f"{prefix}.{day.isoformat()}"


def epoch_seconds(moment: datetime) -> Decimal:
    """Exact seconds since the epoch (microseconds kept): averages of ages stay exact."""
    delta = moment - EPOCH_UTC
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / Decimal(1_000_000)


class Figures(Mapping[str, Decimal]):
    """An immutable sparse vector of named Decimal sums; zeros are dropped, so equality is exact."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Decimal] | Iterable[tuple[str, Decimal]] = ()) -> None:
        pairs = values.items() if isinstance(values, Mapping) else values
        self._values: dict[str, Decimal] = {}
        for name, value in pairs:
            total = self._values.get(name, ZERO) + Decimal(value)
            if total:
                self._values[name] = total
            else:
                self._values.pop(name, None)

    def __getitem__(self, name: str) -> Decimal:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def get(self, name: str, default: Decimal = ZERO) -> Decimal:  # type: ignore[override]
        return self._values.get(name, default)

    def __add__(self, other: "Figures") -> "Figures":
        return Figures([*self._values.items(), *other._values.items()])

    def __sub__(self, other: "Figures") -> "Figures":
        return self + (-other)

    def __neg__(self) -> "Figures":
        return Figures({name: -value for name, value in self._values.items()})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Figures) and self._values == other._values

    def __hash__(self) -> int:
        return hash(frozenset(self._values.items()))

    def __repr__(self) -> str:
        return f"Figures({self._values!r})"

    def by_date(self, prefix: str) -> dict[date, Decimal]:
        """The per-date sums under `prefix` (e.g. `due`), keyed by date."""
        start = prefix + "."
        return {date.fromisoformat(name[len(start):]): value for name, value in self._values.items()
                if name.startswith(start)}

    def scaled(self, rate: Decimal) -> "Figures":
        """Money figures multiplied by `rate` (a currency conversion); counts and times unchanged."""
        return Figures({name: value * rate if name.split(".", 1)[0] in F.MONEY else value
                        for name, value in self._values.items()})

    def nested(self) -> dict[str, object]:
        """As stored in MongoDB: `{"outstanding": …, "due": {"2026-11-05": …}}`."""
        out: dict[str, object] = {}
        for name, value in self._values.items():
            head, _, tail = name.partition(".")
            if tail:
                out.setdefault(head, {})[tail] = value  # type: ignore[index]
            else:
                out[head] = value
        return out

    @classmethod
    def from_nested(cls, doc: Mapping[str, object] | None) -> "Figures":
        pairs: list[tuple[str, Decimal]] = []
        for head, value in (doc or {}).items():
            if isinstance(value, Mapping):
                pairs.extend((f"{head}.{tail}", Decimal(str(inner))) for tail, inner in value.items())
            else:
                pairs.append((head, Decimal(str(value))))
        return cls(pairs)


EMPTY = Figures()


class AggregateKey(NamedTuple):
    """One aggregate: a scope (`client:c-1`, `tenant`…) in one currency."""

    scope: str
    currency: str


def item_figures(counted: CountedItem) -> Figures:
    """What one item adds to each scope it rolls up to."""
    values: list[tuple[str, Decimal]] = []
    if counted.invoiced:
        values.append((dated(F.INVOICED, counted.issue_date), counted.amount))
    if counted.open:
        values += [(F.OPEN_ITEMS, ONE), (F.OUTSTANDING, counted.open_amount),
                   (dated(F.DUE, counted.due_date), counted.open_amount)]
    if counted.disputed and counted.dispute_since is not None:
        values += [(F.DISPUTED_ITEMS, ONE), (F.DISPUTED_OUTSTANDING, counted.open_amount),
                   (F.DISPUTE_SINCE_SUM, epoch_seconds(counted.dispute_since)),
                   (dated(F.DISPUTE_START, counted.dispute_since.date()), ONE)]
    if counted.promised:
        values += [(F.PROMISED_ITEMS, ONE), (F.PROMISED_AMOUNT, counted.open_amount)]
    if counted.held_in_follow_up:
        values += [(F.HELD_ITEMS, ONE), (F.HELD_AMOUNT, counted.open_amount)]
    return Figures(values)


def action_figures(counted: CountedAction) -> Figures:
    return Figures([(F.OPEN_FOLLOW_UPS, ONE)]) if counted.open_follow_up else EMPTY


def contribution(counted: Counted | None) -> dict[AggregateKey, Figures]:
    """Everything one item or action adds, per aggregate (nothing when it is not held)."""
    if counted is None:
        return {}
    if isinstance(counted, CountedItem):
        figures, currency = item_figures(counted), counted.currency
    else:
        figures, currency = action_figures(counted), NO_CURRENCY
    if not figures:
        return {}
    return {AggregateKey(scope, currency): figures for scope in counted.scopes}


def change(before: Counted | None, after: Counted | None) -> dict[AggregateKey, Figures]:
    """The difference a new count makes, per aggregate; aggregates it leaves unchanged are absent."""
    deltas = dict(contribution(after))
    for key, figures in contribution(before).items():
        deltas[key] = deltas.get(key, EMPTY) - figures
    return {key: figures for key, figures in deltas.items() if figures}


def accumulate(totals: dict[AggregateKey, Figures], deltas: Mapping[AggregateKey, Figures]) -> None:
    """Add `deltas` into `totals` in place, dropping aggregates that come back to zero."""
    for key, figures in deltas.items():
        total = totals.get(key, EMPTY) + figures
        if total:
            totals[key] = total
        else:
            totals.pop(key, None)
