"""Specific actions (`actions`): kept for the agenda, queued for their date, marked when run."""

from datetime import date
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.dunning.adapters.documents import Session, doc_id, document
from services.dunning.domain.state import ActionState, RunState


class MongoActions:
    """Specific actions, in the transaction of `session` (or none)."""

    def __init__(self, db: AsyncDatabase[Any], session: Session = None) -> None:
        self.actions, self.session = db["actions"], session

    async def action(self, tenant_id: str, action_id: str) -> ActionState | None:
        doc = await self.actions.find_one({"_id": doc_id(tenant_id, action_id)}, session=self.session)
        return ActionState.model_validate(doc) if doc else None

    async def save_action(self, tenant_id: str, state: ActionState) -> None:
        doc = document(tenant_id, state.action.action_id, state)
        doc["client_id"] = state.action.client_id
        await self.actions.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=self.session)

    async def actions_to_run(self, today: date, *, limit: int) -> list[tuple[str, ActionState]]:
        """Pending actions of every tenant whose date has come, with their tenant."""
        docs = await self.actions.find({"run_state": RunState.PENDING.value, "run_on": {"$lte": today}},
                                       limit=limit, session=self.session).to_list()
        return [(doc["tenant_id"], ActionState.model_validate(doc)) for doc in docs]

    async def actions_between(self, tenant_id: str, first: date, last: date) -> list[ActionState]:
        docs = await self.actions.find({"tenant_id": tenant_id, "run_on": {"$gte": first, "$lte": last}},
                                       session=self.session).to_list()
        return [ActionState.model_validate(doc) for doc in docs]
