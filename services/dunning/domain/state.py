"""The dunning view of clients, items, statuses and specific actions, built only from events."""

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.values import (
    ActionSnapshot,
    ActionType,
    Contact,
    ItemKind,
    LatePenaltySettings,
    StatusCategory,
    UserRef,
)


class State(BaseModel):
    """A stored view; documents carry more fields (ids, tenant) than the rules need."""

    model_config = ConfigDict(extra="ignore")


class ClientState(State):
    client_id: str
    number: str = ""
    name: str = ""
    language: str = "en"
    currency: str = "EUR"
    collector: UserRef | None = None
    scenario_code: str | None = None
    dunning_excluded: bool = False
    contacts: list[Contact] = Field(default_factory=list)
    late_penalties: LatePenaltySettings | None = None
    version: int = 0  # 0: not heard of yet (an item arrived before its client)


class StatusRule(State):
    code: str
    labels: dict[str, str] = Field(default_factory=dict)
    category: StatusCategory
    takes_out_of_dunning: bool
    version: int = 1

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels.get("en") or next(iter(self.labels.values()), self.code)


class Resumption(State):
    """Why an item re-entered the flow: shown on the step that next goes out for it."""

    on: date
    released_by: str  # the action that held it, or the status that kept it out
    reason: str


class ItemState(State):
    item_id: str
    client_id: str
    number: str
    kind: ItemKind = ItemKind.INVOICE
    issue_date: date
    due_date: date
    amount: Decimal
    open_amount: Decimal
    currency: str
    status_code: str | None = None
    held_by_action_id: str | None = None
    held_by_action_type: ActionType | None = None
    version: int
    closed: bool = False
    scenario_code: str
    done_step: str | None = None
    done_offset: int | None = None
    done_on: date | None = None
    next_step: str | None = None
    resumed: Resumption | None = None
    released_with_status: str | None = None  # the status it had when its action let it go: no longer a pause


class RunState(StrEnum):
    """Where a specific action stands for dunning."""

    PENDING = "pending"  # automatic, not to be confirmed: runs on its date
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # waits in the agenda for the collector
    MANUAL = "manual"  # performed by a person (call, task, follow-up): in the agenda only
    EXECUTED = "executed"
    DELETED = "deleted"
    SKIPPED = "skipped"
    FINISHED = "finished"  # done, closed or deleted in followups


class ActionState(State):
    action: ActionSnapshot
    run_state: RunState
    run_on: date
    runs: list[str] = Field(default_factory=list, description="Run keys already executed (action id + date)")
    confirmed_by: str | None = None
