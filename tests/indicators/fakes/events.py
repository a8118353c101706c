"""Event builders for the tests: items, actions and the envelope of an event, in the product's words."""

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

from shared.contracts.envelope import Envelope, EventPayload
from shared.contracts.values import ActionSnapshot, ActionType, ItemKind, ItemSnapshot
from shared.platform.consumer import EventContext
from tests.indicators.fakes.store import TENANT


def context(payload: EventPayload, *, tenant_id: str = TENANT, key_id: str = "c1",
            time: datetime | None = None) -> EventContext:
    envelope = Envelope.wrap(payload, tenant_id=tenant_id, key_id=key_id, source="/tests",
                             time=time or datetime(2026, 11, 2, 9, tzinfo=UTC))
    return EventContext(envelope, None, None)


def item(item_id: str, *, version: int = 1, client_id: str = "c1", open_amount: str = "100.00",
         amount: str | None = None, currency: str = "EUR", status_code: str | None = None,
         status_since: datetime | None = None, held_by: str | None = None,
         held_type: ActionType | None = None, kind: ItemKind = ItemKind.INVOICE,
         issue_date: date = date(2026, 9, 1), due_date: date = date(2026, 10, 1),
         changed_at: datetime | None = None) -> ItemSnapshot:
    return ItemSnapshot(
        item_id=item_id, client_id=client_id, number=f"INV-{item_id}", kind=kind, issue_date=issue_date,
        due_date=due_date, amount=Decimal(amount if amount is not None else open_amount),
        open_amount=Decimal(open_amount), currency=currency, status_code=status_code,
        status_since=status_since, held_by_action_id=held_by,
        held_by_action_type=held_type if held_by else None, version=version,
        changed_at=changed_at or datetime(2026, 10, 15, 8, tzinfo=UTC),
    )


def action(action_id: str, *, version: int = 1, client_id: str = "c1", type: ActionType = ActionType.FOLLOW_UP,
           state: str = "open") -> ActionSnapshot:
    return ActionSnapshot(action_id=action_id, client_id=client_id, type=type, name=f"Case {action_id}",
                          scheduled_for=date(2026, 11, 20), state=state, version=version,  # type: ignore[arg-type]
                          changed_at=datetime(2026, 11, 1, tzinfo=UTC))


def new_id() -> str:
    return uuid4().hex[:8]
