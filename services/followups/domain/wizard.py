"""The change-status wizard: step 1 status and/or comment, step 2 optional emails, step 3 what happens next.

Step 3 is one of: follow the scenario (no new action; items already held stay with their action), add the
items to an open action, or create a specific action (from scratch, the status' action model, a copy, a
template). Left out, it follows rule 6: a status with an action model creates that action.
"""

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts.values import Identifier, ItemSnapshot
from services.followups.domain.drafts import ActionSource, ActionSpec
from services.followups.domain.emails import EmailDraft
from services.followups.domain.errors import Invalid, listed
from services.followups.domain.statuses import ItemStatus

Comment = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class FollowScenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["scenario"] = "scenario"


class AddToAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["add_to_action"] = "add_to_action"
    action_id: Identifier


class CreateAction(ActionSpec):
    kind: Literal["create_action"] = "create_action"


NextAction = Annotated[FollowScenario | AddToAction | CreateAction, Field(discriminator="kind")]


class Selection(BaseModel):
    """Items of one client: listed, or all its open items."""

    model_config = ConfigDict(extra="forbid")

    client_id: Identifier
    item_ids: list[Identifier] = Field(default_factory=list, max_length=50_000)
    all_open_items: bool = Field(False, description="Select every open item of the client instead of listing them")

    @model_validator(mode="after")
    def _some_items(self) -> "Selection":
        if self.all_open_items == bool(self.item_ids):
            raise ValueError("give item_ids, or all_open_items: true")
        if len(set(self.item_ids)) != len(self.item_ids):
            raise ValueError("item_ids lists an item twice")
        return self


class ChangeStatus(Selection):
    """The whole wizard in one request: nothing is written unless every step is valid."""

    status_code: str | None = None
    comment: Comment | None = None
    client_email: EmailDraft | None = None
    internal_email: EmailDraft | None = None
    next_action: NextAction | None = None

    @model_validator(mode="after")
    def _does_something(self) -> "ChangeStatus":
        if not (self.status_code or self.comment or self.client_email or self.internal_email or self.next_action):
            raise ValueError("give at least a status_code, a comment, an email or a next_action")
        return self


def default_next_action(status: ItemStatus | None, items: Sequence[ItemSnapshot]) -> NextAction:
    """Rule 6: a status linked to an action model creates that action, unless every item is already held."""
    if status is not None and status.action_model is not None and not status.resolves \
            and not all(item.held_by_action_id for item in items):
        return CreateAction(source=ActionSource.STATUS_MODEL)
    return FollowScenario()


def check_plan(status: ItemStatus | None, next_action: NextAction, items: Sequence[ItemSnapshot]) -> None:
    """Rules 2 and 3 before anything is written."""
    if status is not None and status.resolves and not isinstance(next_action, FollowScenario):
        raise Invalid(f"{status.code} is a resolved status: its items re-enter the scenario (rule 3), "
                      "so it cannot put them in an action", code="resolved_needs_scenario")
    if status is not None and status.takes_out_of_dunning and isinstance(next_action, FollowScenario):
        loose = [item.item_id for item in items if not item.held_by_action_id]
        if loose:
            raise Invalid(f"{status.code} takes items out of dunning through a specific action (rule 2): "
                          f"create one or add them to one; not held: {listed(loose)}", code="action_required",
                          item_ids=loose)
