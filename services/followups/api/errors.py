"""Domain errors as precise HTTP answers: RFC 9457 problems with `code` and the details a program needs."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.followups.domain.errors import (
    Conflict,
    FollowupsError,
    Invalid,
    NotFound,
    TooLarge,
    Unavailable,
    UnsupportedType,
)
from shared.platform.problems import FieldProblem, problem_response

STATUS = {Unavailable: 503, NotFound: 404, Conflict: 409, TooLarge: 413, UnsupportedType: 415, Invalid: 422}


def add_error_handlers(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FollowupsError)
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
        details = dict(exc.details)
        errors = [FieldProblem(field=f"body.{p['field']}", message=p["message"]) for p in details.pop("problems", [])]
        return problem_response(status, exc.message, code=exc.code, errors=errors, **details)

    app.add_exception_handler(FollowupsError, domain_error)
