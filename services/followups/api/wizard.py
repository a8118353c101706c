"""The change-status wizard: one request carries the three steps; a dry run shows what step 3 would do."""

from typing import Any

from fastapi import APIRouter

from services.followups.api.deps import Collector, Service
from services.followups.domain.wizard import ChangeStatus
from services.followups.handlers import wizard

router = APIRouter(prefix="/wizard", tags=["change-status wizard"])

DESCRIPTION = """Step 1: `status_code` and/or `comment` for the selected items of one client.
Step 2: optional `client_email` and/or `internal_email` (template_id, or subject + body with hashtags).
Step 3: `next_action` — `{"kind": "scenario"}`, `{"kind": "add_to_action", "action_id": …}` or
`{"kind": "create_action", "source": "new" | "status_model" | "copy_action" | "template", …}`.
Left out, a status linked to an action model creates that action (rule 6). A status that takes items out of
dunning needs a specific action (rule 2); a resolved status releases items from their action (rule 3).
Nothing is written unless every step is valid."""


@router.post("/change-status", summary="Qualify items, send emails, and decide what happens next",
             description=DESCRIPTION)
async def change_status(body: ChangeStatus, caller: Collector, deps: Service) -> dict[str, Any]:
    return await wizard.change_status(body, caller=caller, deps=deps)


@router.post("/suggest", summary="What step 3 would do for this status and selection (writes nothing)")
async def suggest(body: ChangeStatus, caller: Collector, deps: Service) -> dict[str, Any]:
    return await wizard.suggest(body, caller=caller, deps=deps)
