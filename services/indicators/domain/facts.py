"""What an item or an action counts as: the facts the KPIs are built from, pure Python.

An item's contribution depends on its latest snapshot, on its client (which collector, entity and
group it rolls up to) and on the definition of its status (does it count as a dispute, a promise).
`count_item` turns those three into a `CountedItem`; the service stores it next to the snapshot,
so any later change is applied as the difference between the old and the new `CountedItem`.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from shared.contracts.receivables import ClientUpserted, ItemStatusDefined
from shared.contracts.values import ActionSnapshot, ActionState, ActionType, ItemKind, ItemSnapshot, StatusCategory


class Fact(BaseModel):
    """Immutable value stored as is in MongoDB; unknown fields from older layouts are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class ScopeKind(StrEnum):
    """The levels KPIs roll up to."""

    TENANT = "tenant"
    ENTITY = "entity"
    GROUP = "group"
    COLLECTOR = "collector"
    CLIENT = "client"


def scope_key(kind: ScopeKind, scope_id: str | None = None) -> str:
    """`tenant`, or `<kind>:<id>` (e.g. `client:c-42`): the one string that names a scope."""
    if kind is ScopeKind.TENANT:
        return ScopeKind.TENANT.value
    if not scope_id:
        raise ValueError(f"a {kind.value} scope needs an id")
    return f"{kind.value}:{scope_id}"


class ClientFacts(Fact):
    """What the KPIs need to know about a client: where its items roll up."""

    client_id: str
    entity_id: str
    group_id: str | None = None
    collector_id: str | None = None
    version: int

    @classmethod
    def of(cls, event: ClientUpserted) -> "ClientFacts":
        return cls(client_id=event.client_id, entity_id=event.entity_id, group_id=event.group_id,
                   collector_id=event.collector.user_id if event.collector else None, version=event.version)


UNDEFINED_RULE = "undefined"


class StatusFacts(Fact):
    """What the KPIs need to know about an item status: its category and whether it is a dispute."""

    code: str
    category: StatusCategory
    counts_as_dispute: bool
    version: int

    @classmethod
    def of(cls, event: ItemStatusDefined) -> "StatusFacts":
        return cls(code=event.code, category=event.category, counts_as_dispute=event.counts_as_dispute,
                   version=event.version)

    @property
    def rule(self) -> str:
        """The part of the definition the KPIs depend on, as one comparable string."""
        return rule_name(self.category, self.counts_as_dispute)


def rule_name(category: StatusCategory, counts_as_dispute: bool) -> str:
    return f"{category.value}:{'dispute' if counts_as_dispute else 'plain'}"


# Every rule an item can have been counted under: lets a store find items counted under any rule
# but the current one with an indexed `$in`, rather than a `$ne` scan.
ALL_RULES: tuple[str, ...] = (UNDEFINED_RULE,) + tuple(
    rule_name(category, dispute) for category in StatusCategory for dispute in (False, True)
)


class Attribution(Fact):
    """The scopes one client's items and actions roll up to (unknown until the client arrives)."""

    client_id: str
    entity_id: str | None = None
    group_id: str | None = None
    collector_id: str | None = None

    @classmethod
    def of(cls, client_id: str, client: ClientFacts | None) -> "Attribution":
        if client is None:
            return cls(client_id=client_id)
        return cls(client_id=client_id, entity_id=client.entity_id, group_id=client.group_id,
                   collector_id=client.collector_id)

    def scopes(self) -> list[str]:
        keys = [scope_key(ScopeKind.TENANT), scope_key(ScopeKind.CLIENT, self.client_id)]
        for kind, scope_id in ((ScopeKind.ENTITY, self.entity_id), (ScopeKind.GROUP, self.group_id),
                               (ScopeKind.COLLECTOR, self.collector_id)):
            if scope_id:
                keys.append(scope_key(kind, scope_id))
        return keys


SALES_KINDS = frozenset({ItemKind.INVOICE, ItemKind.DEBIT_NOTE})


class CountedItem(Fact):
    """What one item contributes to the KPIs, and why (the inputs are kept for the history)."""

    kind: Literal["item"] = "item"
    item_id: str
    attribution: Attribution
    currency: str
    open_amount: Decimal
    amount: Decimal
    invoiced: bool
    issue_date: date
    due_date: date
    status_code: str | None
    status_rule: str
    disputed: bool
    promised: bool
    held_in_follow_up: bool
    dispute_since: datetime | None

    @property
    def open(self) -> bool:
        return self.open_amount != 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def scopes(self) -> list[str]:
        return self.attribution.scopes()


def count_item(snapshot: ItemSnapshot, *, client: ClientFacts | None, status: StatusFacts | None) -> CountedItem:
    """Classify one item. A status not defined yet counts as neither dispute nor promise.

    An item counts as disputed while it is open, its status counts as a dispute and a specific
    action holds it (rule 2: a dispute takes its items out of dunning through an action); releasing
    it (rules 3, 4), paying it or resolving its status ends the dispute.
    """
    is_open = snapshot.open_amount != 0
    dispute_status = status is not None and status.counts_as_dispute
    disputed = is_open and dispute_status and snapshot.held_by_action_id is not None
    return CountedItem(
        item_id=snapshot.item_id,
        attribution=Attribution.of(snapshot.client_id, client),
        currency=snapshot.currency,
        open_amount=snapshot.open_amount,
        amount=snapshot.amount,
        invoiced=snapshot.kind in SALES_KINDS,
        issue_date=snapshot.issue_date,
        due_date=snapshot.due_date,
        status_code=snapshot.status_code,
        status_rule=status.rule if status is not None else UNDEFINED_RULE,
        disputed=disputed,
        promised=is_open and status is not None and status.category is StatusCategory.PROMISE,
        held_in_follow_up=is_open and snapshot.held_by_action_type is ActionType.FOLLOW_UP,
        dispute_since=(snapshot.status_since or snapshot.changed_at) if disputed else None,
    )


class CountedAction(Fact):
    """What one specific action contributes: one open follow-up, or nothing."""

    kind: Literal["action"] = "action"
    action_id: str
    attribution: Attribution
    open_follow_up: bool

    @computed_field  # type: ignore[prop-decorator]
    @property
    def scopes(self) -> list[str]:
        return self.attribution.scopes()


def count_action(action: ActionSnapshot, *, client: ClientFacts | None) -> CountedAction:
    return CountedAction(
        action_id=action.action_id,
        attribution=Attribution.of(action.client_id, client),
        open_follow_up=action.type is ActionType.FOLLOW_UP and action.state is ActionState.OPEN,
    )


Counted = CountedItem | CountedAction
