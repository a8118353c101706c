"""Domain errors as precise HTTP answers: {"detail": message, "code": …, plus the details a program needs}."""

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

STATUS = {Unavailable: 503, NotFound: 404, Conflict: 409, TooLarge: 413, UnsupportedType: 415, Invalid: 422}


def add_error_handlers(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FollowupsError)
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
        return JSONResponse({"detail": exc.message, "code": exc.code, **exc.details}, status_code=status)

    app.add_exception_handler(FollowupsError, domain_error)
