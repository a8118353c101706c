"""Property-based fuzzing of every service's HTTP API from its own OpenAPI (schemathesis), authenticated,
offline on the service's fakes: no 5xx, and every answer — problems included — matches its documented
status, content type and schema. Valid and invalid requests both (positive and negative generation).

Bounded here (`ARF_FUZZ_EXAMPLES` per operation and mode, a fixed seed, derandomized: the same requests on
every run); `make fuzz` runs it long. A failure prints the operation, the request to replay and the check.
"""

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.platform.problems import document_problems, install_problem_handlers
from tests.fuzz.apps import SERVICES

EXAMPLES = int(os.environ.get("ARF_FUZZ_EXAMPLES", "3"))  # bounded: the unit layer stays under a minute
SEED = os.environ.get("ARF_FUZZ_SEED")  # unset: derandomized (the same requests every run); set: that seed
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TENANT = "fuzz-tenant"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_operation_answers_within_its_documented_contract(service: str, public_key: Path,
                                                                token_for: Callable[..., str]) -> None:
    token = token_for(tenant_id=TENANT, role="admin", user_id="u-fuzz")
    statuses: Counter[int] = Counter()
    with asyncio.Runner() as runner:  # the app, its fakes and every request live on this one loop
        failures = runner.run(_fuzz_app(SERVICES[service](public_key), token, runner, statuses))
    print(f"{service}: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
    assert statuses and min(statuses) < 300, f"{service}: no request was accepted: {statuses}"
    assert not failures, f"{len(failures)} operation(s) of {service} broke their contract:\n\n" + "\n\n".join(failures)


def test_the_fuzzer_reports_a_5xx_and_an_undocumented_answer() -> None:
    """The control: an app with one route that fails and one that answers off its schema is caught twice."""
    statuses: Counter[int] = Counter()
    with asyncio.Runner() as runner:
        failures = runner.run(_fuzz_app(_broken_app(), "t", runner, statuses))
    assert len(failures) >= 2 and any("/boom" in f for f in failures) and any("/off" in f for f in failures), failures


@asynccontextmanager
async def _broken_app() -> AsyncIterator[FastAPI]:
    app = FastAPI()

    class Answer(BaseModel):
        count: int

    @app.get("/boom")
    async def boom(n: int) -> Answer:
        raise RuntimeError("a bug")

    @app.get("/off")
    async def off(n: int) -> Answer:
        return JSONResponse({"count": "not a number"})  # type: ignore[return-value]

    install_problem_handlers(app)
    document_problems(app)
    yield app


async def _fuzz_app(offline: AbstractAsyncContextManager[FastAPI], token: str, runner: asyncio.Runner,
                    statuses: Counter[int]) -> list[str]:
    async with offline as app:
        schema = schemathesis.openapi.from_dict(app.openapi())
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                   base_url="http://fuzz.test",
                                   headers={"Authorization": f"Bearer {token}"})
        failures: list[str] = []
        async with client:
            for result in schema.get_all_operations():
                operation = result.ok()
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    failure = await asyncio.to_thread(_fuzz_operation, operation, mode, client, runner, statuses)
                    if failure:
                        failures.append(failure)
        return failures


def _fuzz_operation(operation: Any, mode: GenerationMode, client: httpx.AsyncClient,
                    runner: asyncio.Runner, statuses: Counter[int]) -> str | None:
    """Hypothesis runs in a worker thread; each request is sent on the service's loop and awaited here."""
    main = runner.get_loop()

    @settings(max_examples=EXAMPLES, derandomize=SEED is None, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://fuzz.test")
        response = asyncio.run_coroutine_threadsafe(_send(client, kwargs), main).result(timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    if SEED is not None:
        check = seed(int(SEED))(check)
    try:
        check()
    except Unsatisfiable:  # nothing in this operation can be made invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid request can be generated"
    except (FailureGroup, AssertionError) as exc:
        return f"{operation.label} ({mode.value}): {exc}"
    return None


async def _send(client: httpx.AsyncClient, kwargs: dict[str, Any]) -> httpx.Response:
    """The request as schemathesis would send it (its requests serialisation: multipart, forms), over ASGI."""
    parts = {k: kwargs.get(k) for k in ("method", "url", "headers", "json", "data", "files", "params")}
    parts["headers"] = {k: v for k, v in (parts["headers"] or {}).items() if k.lower() != "authorization"}
    prepared = requests.Request(**parts).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return await client.request(prepared.method or "GET", prepared.url or "", headers=dict(prepared.headers),
                                content=body)

