"""The HTTP side every service shares: lifespan wiring, health, readiness, metrics, API docs, errors.

Docs are served offline (the Swagger UI assets ship in a Python package; the AsyncAPI page is
rendered here), because the people who deploy this often run without internet access.
"""

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import swagger_ui_bundle
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from faststream.specification import AsyncAPI
from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared.platform.auth import TokenVerifier
from shared.platform.logging import log_context
from shared.platform.problems import document_problems, install_problem_handlers, internal_error
from shared.platform.runtime import ServiceRuntime

log = logging.getLogger(__name__)

Wire = Callable[[ServiceRuntime, FastAPI], Awaitable[None]]
CORRELATION_HEADER = "X-Correlation-ID"
_pages = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(default=True)
)


def create_http_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter] = (),
    wire: Wire,
) -> FastAPI:
    """The service's FastAPI app; its lifespan opens the runtime, wires the service and starts it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        await runtime.open()
        app.state.runtime = runtime
        await wire(runtime, app)
        runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.token_verifier = TokenVerifier(runtime.settings)  # a bad key file fails here, before serving
    for router in routers:
        app.include_router(router)
    _add_operations_routes(app, runtime, title)
    _add_correlation_middleware(app)
    install_problem_handlers(app)  # every error answers RFC 9457 problem details (shared/platform/problems.py)
    document_problems(app)
    return app


def _add_operations_routes(app: FastAPI, runtime: ServiceRuntime, title: str) -> None:
    ops = APIRouter(tags=["operations"])

    @ops.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "alive", "service": runtime.name}

    @ops.get("/readyz", summary="Readiness: MongoDB and Kafka are reachable",
             responses={503: {"description": "Not ready: `checks` says which dependency is not reachable",
                              "content": {"application/json": {"schema": {"type": "object"}}}}})
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        ready = all(value == "ok" for value in checks.values())
        body = {"status": "ready" if ready else "not ready", "service": runtime.name, "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    @ops.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(runtime.metrics.render(), media_type=runtime.metrics.content_type)

    @ops.get("/asyncapi.json", summary="AsyncAPI document of the events this service reads and writes")
    async def asyncapi_json() -> JSONResponse:
        return JSONResponse(_asyncapi(runtime, title))

    @ops.get("/asyncapi", response_class=HTMLResponse, summary="AsyncAPI document, readable")
    async def asyncapi_page() -> HTMLResponse:
        page = _pages.get_template("asyncapi.html").render(title=title, spec=_asyncapi(runtime, title))
        return HTMLResponse(page)

    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")

    @ops.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{title} — API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    app.include_router(ops)


def _asyncapi(runtime: ServiceRuntime, title: str) -> dict[str, Any]:
    spec = AsyncAPI(runtime.broker, title=title, version="0.1.0", description="Events over Kafka")
    return spec.to_specification().to_jsonable()


def _add_correlation_middleware(app: FastAPI) -> None:
    @app.middleware("http")
    async def correlation(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        correlation_id = request.headers.get(CORRELATION_HEADER) or str(uuid4())
        request.state.correlation_id = correlation_id
        started = time.perf_counter()
        with log_context(correlation_id=correlation_id):
            try:
                response = await call_next(request)
            except Exception:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                response = internal_error(correlation_id)
            log.debug("%s %s -> %s in %.1f ms", request.method, request.url.path, response.status_code,
                      (time.perf_counter() - started) * 1000)
        response.headers[CORRELATION_HEADER] = correlation_id
        return response

