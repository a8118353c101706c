"""Rebuilding every aggregate from the snapshots, and comparing it with the incremental figures."""

from collections.abc import Iterable, Mapping
from decimal import Decimal

from pydantic import BaseModel

from services.indicators.domain.facts import Counted
from services.indicators.domain.figures import EMPTY, AggregateKey, Figures, accumulate, contribution


def rebuild(counted: Iterable[Counted]) -> dict[AggregateKey, Figures]:
    """Every aggregate, summed from scratch from what each item and action counts as."""
    totals: dict[AggregateKey, Figures] = {}
    for one in counted:
        accumulate(totals, contribution(one))
    return totals


class Difference(BaseModel):
    """One figure of one aggregate where the incremental value is not the recomputed one."""

    scope: str
    currency: str
    figure: str
    incremental: Decimal
    recomputed: Decimal


def compare(incremental: Mapping[AggregateKey, Figures],
            recomputed: Mapping[AggregateKey, Figures]) -> list[Difference]:
    """Every figure that differs (a missing figure is zero), sorted by scope, currency and name."""
    differences = []
    for key in sorted(set(incremental) | set(recomputed)):
        have, want = incremental.get(key, EMPTY), recomputed.get(key, EMPTY)
        if have == want:
            continue
        for name in sorted(set(have) | set(want)):
            if have.get(name) != want.get(name):
                differences.append(Difference(scope=key.scope, currency=key.currency, figure=name,
                                              incremental=have.get(name), recomputed=want.get(name)))
    return differences
