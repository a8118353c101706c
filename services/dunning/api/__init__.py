"""HTTP API of the dunning service: scenarios, dry runs, the agenda, and the proof per client.

The tenant always comes from the verified token; reads are open to every role, changing scenarios
needs a credit manager, answering the agenda a collector. Routes parse, authorise and call a handler.
"""

import re
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from services.dunning.api import agenda, operations, proof, scenarios
from services.dunning.domain.agenda import AgendaConflict, AgendaNotFound
from services.dunning.domain.scenarios import ScenarioConflict, ScenarioInvalid, ScenarioNotFound
from shared.platform.problems import FieldProblem, problem_response

router = APIRouter()
for part in (scenarios, agenda, proof, operations):  # in this order: the OpenAPI document lists them so
    router.include_router(part.router)


def install_error_handlers(app: Any) -> None:
    """Domain errors become clear 4xx problems (never a 500), in the one shape of shared/platform/problems.py."""

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        problems = exc.problems if isinstance(exc, ScenarioInvalid) else [str(exc)]
        return problem_response(422, "the scenario was not saved: " + "; ".join(problems), code="scenario_invalid",
                                errors=[scenario_field(p) for p in problems])

    async def conflict(_: Request, exc: Exception) -> JSONResponse:
        return problem_response(status.HTTP_409_CONFLICT, str(exc), code="conflict")

    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return problem_response(status.HTTP_404_NOT_FOUND, str(exc), code="not_found")

    app.add_exception_handler(ScenarioInvalid, invalid)
    app.add_exception_handler(ScenarioConflict, conflict)
    app.add_exception_handler(AgendaConflict, conflict)
    app.add_exception_handler(ScenarioNotFound, not_found)
    app.add_exception_handler(AgendaNotFound, not_found)


def scenario_field(problem: str) -> FieldProblem:
    """`templates.T1.fr.subject: must not be empty` → that field of the body; `step 'D30': …` → `body.steps.D30`
    (steps and templates named by their code, as the domain names them)."""
    where, sep, message = problem.partition(": ")
    step = re.fullmatch(r"step '(.+)'", where)
    if step:
        return FieldProblem(field=f"body.steps.{step.group(1)}", message=message)
    if sep and " " not in where:
        return FieldProblem(field=f"body.{where}", message=message)
    return FieldProblem(field="body", message=problem)  # a rule across fields (two steps on one day)
