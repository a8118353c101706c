"""HTTP API of the dunning service: scenarios, dry runs, the agenda, and the proof per client.

The tenant always comes from the verified token; reads are open to every role, changing scenarios
needs a credit manager, answering the agenda a collector. Routes parse, authorise and call a handler.
"""

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from services.dunning.api import agenda, operations, proof, scenarios
from services.dunning.domain.agenda import AgendaConflict, AgendaNotFound
from services.dunning.domain.scenarios import ScenarioConflict, ScenarioInvalid, ScenarioNotFound

router = APIRouter()
for part in (scenarios, agenda, proof, operations):  # in this order: the OpenAPI document lists them so
    router.include_router(part.router)


def install_error_handlers(app: Any) -> None:
    """Domain errors become clear 4xx answers (never a 500)."""

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        problems = exc.problems if isinstance(exc, ScenarioInvalid) else [str(exc)]
        return JSONResponse({"detail": {"message": "the scenario was not saved", "problems": problems}}, 422)

    async def conflict(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_409_CONFLICT)

    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_404_NOT_FOUND)

    app.add_exception_handler(ScenarioInvalid, invalid)
    app.add_exception_handler(ScenarioConflict, conflict)
    app.add_exception_handler(AgendaConflict, conflict)
    app.add_exception_handler(ScenarioNotFound, not_found)
    app.add_exception_handler(AgendaNotFound, not_found)
