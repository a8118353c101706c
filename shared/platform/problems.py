"""One error shape for every service: RFC 9457 problem details (`application/problem+json`).

Every error a service answers — validation, a domain rule, a missing route, an unexpected failure — is
`{"type", "title", "status", "detail", "errors"?, "code"?, ...}`. `errors` names each invalid field by its
path (`body.items[3].amount`); `code` is the machine reason clients and tests branch on (an extension
member, like any detail a service adds). A 500 says only that it failed, with the correlation id.
"""

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:arf:problem:"  # a URN rather than a URL: nothing to host, still unique and stable
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 429, 500, 503)


class FieldProblem(BaseModel):
    """One invalid field: where it is in the request and what is wrong with it."""

    field: str = Field(description="path of the field in the request, e.g. `body.items[3].amount`")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details; `code` and any other member are extensions a program can read."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="a URI naming the kind of problem (`urn:arf:problem:<code>`)")
    title: str = Field(description="the HTTP reason phrase of the status")
    status: int
    detail: str = Field(description="what went wrong, for a human")
    code: str | None = Field(default=None, description="the machine reason, stable across versions")
    errors: list[FieldProblem] | None = Field(default=None, description="each invalid field, when there are any")


class ProblemError(Exception):
    """Raised by a route (or mapped from a service's own error) to answer a problem."""

    def __init__(self, status: int, detail: str, *, code: str | None = None,
                 errors: Sequence[FieldProblem | dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.status, self.detail, self.code, self.headers = status, detail, code, headers
        self.errors = [e if isinstance(e, FieldProblem) else FieldProblem(**e) for e in errors or ()]
        self.extensions = extensions


def invalid_field(field: str, message: str, *, code: str = "invalid") -> ProblemError:
    """A 422 for one field a rule refuses after parsing (`query.to`: before `from`), named like a validation error."""
    return ProblemError(422, f"{field}: {message}", code=code, errors=[FieldProblem(field=field, message=message)])


def problem_response(status: int, detail: str, *, code: str | None = None,
                     errors: Sequence[FieldProblem] | None = None, headers: dict[str, str] | None = None,
                     **extensions: Any) -> JSONResponse:
    """The problem as an HTTP answer; `code` defaults to a slug of the status (`not_found`)."""
    code = code or _slug(status)
    body: dict[str, Any] = {"type": TYPE_BASE + code, "title": _title(status), "status": status,
                            "detail": detail, "code": code}
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    for name, value in extensions.items():
        body.setdefault(name, value)  # an extension never overrides a standard member
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def field_path(loc: Sequence[str | int]) -> str:
    """`("body", "items", 3, "amount")` → `body.items[3].amount`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def install_problem_handlers(app: FastAPI) -> None:
    """Every error the app can raise answers a problem (a service adds its own mappings after this)."""
    app.add_exception_handler(ProblemError, _from_problem)
    app.add_exception_handler(StarletteHTTPException, _from_http_exception)
    app.add_exception_handler(RequestValidationError, _from_validation)
    app.add_exception_handler(ConnectionFailure, _database_unavailable)


def internal_error(correlation_id: str) -> JSONResponse:
    """An unexpected failure: no trace, no message of the exception, only what lets support find the log."""
    return problem_response(500, "an unexpected error occurred; the log has the details under this correlation id",
                            code="internal_error", correlation_id=correlation_id)


async def _from_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.status, exc.detail, code=exc.code, errors=exc.errors, headers=exc.headers,
                            **exc.extensions)


async def _from_http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail, errors, extensions = exc.detail, [], {}
    if isinstance(detail, dict):  # {"message", "problems": [{"field", "message"}], ...}: a route's richer answer
        extensions = {k: v for k, v in detail.items() if k not in ("message", "problems", "code")}
        errors = [FieldProblem(**p) for p in detail.get("problems", [])]
        code, detail = detail.get("code"), str(detail.get("message", _title(exc.status_code)))
    else:
        code = None
    return problem_response(exc.status_code, str(detail), code=code, errors=errors,
                            headers=getattr(exc, "headers", None), **extensions)


async def _from_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [FieldProblem(field=field_path(e.get("loc", ())), message=e.get("msg", "invalid"))
              for e in exc.errors()]
    shown = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    more = f" and {len(errors) - 5} more" if len(errors) > 5 else ""
    return problem_response(422, f"the request is not valid: {shown}{more}", code="validation_failed", errors=errors)


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    return problem_response(503, "the database is unavailable; try again shortly", code="database_unavailable",
                            headers={"Retry-After": "5"})


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _slug(status: int) -> str:
    return _title(status).lower().replace(" ", "_").replace("-", "_") if status != 500 else "internal_error"


def document_problems(app: FastAPI) -> None:
    """Every operation's OpenAPI declares its errors as problems: 422 (validation), any 4XX, 500 and 503.

    Done once for the app rather than on each route, so a new route cannot forget it; a response a route
    documents with its own body (the readiness check's 503) keeps it.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = build()
        _add_problems(spec)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}
_DEFAULTS = {
    "422": "The request is not valid: `errors` names each invalid field",
    "4XX": "The request was refused (401 unauthenticated, 403 forbidden, 404 unknown, 409 conflict, ...)",
    "500": "An unexpected error; the log has it under the correlation id",
    "503": "A dependency is unavailable; try again shortly",
}


def _add_problems(spec: dict[str, Any]) -> None:
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["FieldProblem"] = schemas["Problem"].pop("$defs", {}).get("FieldProblem", FieldProblem.model_json_schema())
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, response in responses.items():
                if status[0] in "45" and _default_body(response):
                    response["content"] = dict(_PROBLEM_CONTENT)
            for status, description in _DEFAULTS.items():
                responses.setdefault(status, {"description": description, "content": dict(_PROBLEM_CONTENT)})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def _default_body(response: dict[str, Any]) -> bool:
    """A response with no body of its own, or FastAPI's validation error, becomes a problem."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return not schema or schema.get("$ref", "").endswith(("/HTTPValidationError", "/Problem"))
