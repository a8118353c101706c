"""Items: how an ERP update, a qualification, a hold and a release change one, and which selections are valid.

Every change returns a new `ItemSnapshot` whose `version` is one more than the last: an operation made of
two changes (qualify, then hold) yields two snapshots, one per event, so every consumer can order them.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts.receivables import MAX_ITEMS_PER_EVENT
from shared.contracts.values import ActionType, Amount, Currency, Identifier, ItemKind, ItemSnapshot
from services.followups.domain.errors import ItemsRejected

T = TypeVar("T")


class ItemInput(BaseModel):
    """An item as the ERP sends it (import row or single upsert); closing it is `open_amount: 0`."""

    model_config = ConfigDict(extra="forbid")

    item_id: Identifier | None = Field(None, description="The ERP's key; defaults to `number`")
    client_id: Identifier
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    kind: ItemKind = ItemKind.INVOICE
    issue_date: date
    due_date: date
    amount: Amount = Field(max_digits=20, decimal_places=4)
    open_amount: Amount = Field(max_digits=20, decimal_places=4)
    currency: Currency

    @model_validator(mode="after")
    def _consistent(self) -> "ItemInput":
        if self.due_date < self.issue_date:
            raise ValueError("due_date is before issue_date")
        if self.open_amount != 0 and (self.open_amount > 0) != (self.amount > 0):
            raise ValueError("open_amount and amount have opposite signs")
        if abs(self.open_amount) > abs(self.amount):
            raise ValueError("open_amount is larger than amount")
        return self

    @property
    def key(self) -> str:
        return self.item_id or self.number


ERP_FIELDS = ("number", "kind", "issue_date", "due_date", "amount", "open_amount", "currency")


class ErpChange(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    CLOSED = "closed"
    UNCHANGED = "unchanged"


def merge_erp_update(existing: ItemSnapshot | None, incoming: ItemInput, *, now: datetime
                     ) -> tuple[ItemSnapshot | None, ErpChange]:
    """The item after an ERP update (None when unchanged), and what kind of change it was."""
    values = {name: getattr(incoming, name) for name in ERP_FIELDS}
    if existing is None:
        snapshot = ItemSnapshot(item_id=incoming.key, client_id=incoming.client_id, version=1, changed_at=now,
                                **values)
        return snapshot, ErpChange.CLOSED if snapshot.closed else ErpChange.CREATED
    if all(getattr(existing, name) == value for name, value in values.items()):
        return None, ErpChange.UNCHANGED
    snapshot = existing.model_copy(update={**values, "version": existing.version + 1, "changed_at": now})
    closing = snapshot.closed and not existing.closed
    return snapshot, ErpChange.CLOSED if closing else ErpChange.UPDATED


def check_selection(requested: Sequence[str], found: Mapping[str, ItemSnapshot], *, client_id: str,
                    allow_closed: bool = False) -> list[ItemSnapshot]:
    """The selected items in request order, or ItemsRejected naming every bad one.

    An item of another tenant is never loaded, so it is reported as unknown: nothing leaks.
    """
    unknown = [item_id for item_id in requested if item_id not in found]
    other = [item_id for item_id in requested if item_id in found and found[item_id].client_id != client_id]
    closed = [] if allow_closed else [
        item_id for item_id in requested if item_id in found and found[item_id].client_id == client_id
        and found[item_id].closed
    ]
    if unknown or other or closed:
        raise ItemsRejected(unknown=unknown, other_client=other, closed=closed)
    return [found[item_id] for item_id in requested]


def qualify(item: ItemSnapshot, *, status_code: str | None, now: datetime) -> ItemSnapshot:
    """A status and/or a comment: a change of the item even when the status stays (its history grew)."""
    update: dict[str, object] = {"version": item.version + 1, "changed_at": now}
    if status_code is not None and status_code != item.status_code:
        update |= {"status_code": status_code, "status_since": now}
    return item.model_copy(update=update)


def hold(item: ItemSnapshot, *, action_id: str, action_type: ActionType, now: datetime) -> ItemSnapshot:
    """A specific action takes the item out of the dunning scenario (rule 1)."""
    return item.model_copy(update={"held_by_action_id": action_id, "held_by_action_type": action_type,
                                   "version": item.version + 1, "changed_at": now})


def release(item: ItemSnapshot, *, now: datetime) -> ItemSnapshot:
    """The item re-enters the dunning scenario (rules 3, 4)."""
    return item.model_copy(update={"held_by_action_id": None, "held_by_action_type": None,
                                   "version": item.version + 1, "changed_at": now})


def held_by_others(items: Iterable[ItemSnapshot], action_id: str | None) -> dict[str, list[str]]:
    """Holding action id → ids of the items it holds, for items held by an action other than `action_id`."""
    holders: dict[str, list[str]] = {}
    for item in items:
        if item.held_by_action_id and item.held_by_action_id != action_id:
            holders.setdefault(item.held_by_action_id, []).append(item.item_id)
    return holders


def batches(values: Sequence[T], size: int = MAX_ITEMS_PER_EVENT) -> Iterator[list[T]]:
    """Slices of at most `size`: a Kafka message stays well under 1 MB."""
    for start in range(0, len(values), size):
        yield list(values[start:start + size])


def open_total(items: Iterable[ItemSnapshot]) -> dict[str, Decimal]:
    """Open amount per currency (never two currencies added together)."""
    totals: dict[str, Decimal] = {}
    for item in items:
        totals[item.currency] = totals.get(item.currency, Decimal(0)) + item.open_amount
    return totals
