"""In-memory implementations of every port of the indicators (`store`, `ports`), and event builders."""

from tests.indicators.fakes.events import action, context, item, new_id
from tests.indicators.fakes.ports import (
    FakeTx,
    FakeUnitOfWork,
    InMemoryFigures,
    InMemoryHistory,
    InMemoryRecomputeReads,
    fake_adapters,
)
from tests.indicators.fakes.store import TENANT, InMemoryStore

__all__ = ["TENANT", "FakeTx", "FakeUnitOfWork", "InMemoryFigures", "InMemoryHistory", "InMemoryRecomputeReads",
           "InMemoryStore", "action", "context", "fake_adapters", "item", "new_id"]
