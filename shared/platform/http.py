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
from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared.platform.asyncapi import asyncapi_document
from shared.platform.auth import TokenVerifier
from shared.platform.idempotency import (
    HEADER, MUTATING, IdempotencyMiddleware, IdempotencyStore, MemoryIdempotencyStore,
)
from shared.platform.idempotency_mongo import MongoIdempotencyStore
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
    _add_idempotency(app, runtime)  # inside the correlation middleware: its logs carry the correlation id
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
    return asyncapi_document(title=title, description=f"The events the {runtime.name} service publishes and consumes.",
                             service=runtime.name, topics=runtime.topics,
                             servers=runtime.settings.kafka_bootstrap_servers, published=runtime.published,
                             consumers=runtime.routers)


def _add_idempotency(app: FastAPI, runtime: ServiceRuntime) -> None:
    """The `Idempotency-Key` header on every mutating operation: kept in the service's own database
    (in memory offline), and documented on each of those operations."""
    stores: list[IdempotencyStore] = []
    if not runtime.offline:
        runtime.on_database_ready(lambda: _store(runtime, stores).ensure_indexes())  # type: ignore[union-attr]

    def store() -> IdempotencyStore:
        return _store(runtime, stores)

    async def tenant_of(scope: Any) -> str | None:
        header = dict(scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            return (await app.state.token_verifier.verify(token.strip())).tenant_id
        except Exception:  # the route says why (401)
            return None

    settings = runtime.settings
    app.add_middleware(IdempotencyMiddleware, store=store, tenant_of=tenant_of,  # type: ignore[arg-type]
                       ttl_s=lambda: settings.idempotency_ttl_hours * 3600,
                       lease_s=lambda: settings.idempotency_lease_s, instance=runtime.instance)
    _document_idempotency_key(app)


def _store(runtime: ServiceRuntime, stores: list[IdempotencyStore]) -> IdempotencyStore:
    if not stores:  # built on first use: the database exists only inside the app's lifespan
        stores.append(MemoryIdempotencyStore() if runtime.offline else MongoIdempotencyStore(runtime.db))
    return stores[0]


_KEY_PARAMETER = {
    "name": HEADER, "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Makes a retry safe (IETF draft 'The Idempotency-Key HTTP Header Field'): the first request "
                   "with a key is processed and its answer kept (24 h by default); a retry with the same key and "
                   "request gets that answer again with `Idempotent-Replayed: true` and changes nothing; the same "
                   "key with another request is refused (422); a retry while the first is in flight gets 409.",
}


def _document_idempotency_key(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for operations in schema.get("paths", {}).values():
                for method, operation in operations.items():
                    if method.upper() in MUTATING:
                        parameters = operation.setdefault("parameters", [])
                        if all(p.get("name") != HEADER for p in parameters):
                            parameters.append(dict(_KEY_PARAMETER))
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


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

