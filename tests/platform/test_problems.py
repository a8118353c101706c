"""The one error shape: every error of every service is an RFC 9457 problem, declared in its OpenAPI."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from shared.platform.problems import PROBLEM_MEDIA_TYPE
from tests.fuzz.apps import SERVICES, dunning


@pytest.fixture
async def client(public_key: Path, token_for: Callable[..., str]) -> AsyncIterator[httpx.AsyncClient]:
    async with dunning(public_key) as app:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://dunning.test") as http:
            http.headers["Authorization"] = f"Bearer {token_for(tenant_id='acme', role='collector')}"
            yield http


def problem_of(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("urn:arf:problem:")
    return body


async def test_an_invalid_body_names_each_field_by_its_path(client: httpx.AsyncClient,
                                                            token_for: Callable[..., str]) -> None:
    client.headers["Authorization"] = f"Bearer {token_for(tenant_id='acme', role='credit_manager')}"
    scenario = (await client.get("/scenarios")).json()[0]
    scenario["steps"][3]["offset_days"] = "soon"
    del scenario["name"]
    body = problem_of(await client.post("/scenarios", json=scenario), 422)
    assert body["code"] == "validation_failed"
    fields = {error["field"] for error in body["errors"]}
    assert {"body.steps[3].offset_days", "body.name"} <= fields
    assert "body.steps[3].offset_days" in body["detail"]


async def test_refusals_of_the_platform_are_problems_with_their_code(client: httpx.AsyncClient) -> None:
    assert problem_of(await client.get("/no-such-route"), 404)["code"] == "not_found"
    assert problem_of(await client.delete("/healthz"), 405)["code"] == "method_not_allowed"
    anonymous = await client.get("/scenarios", headers={"Authorization": ""})
    assert problem_of(anonymous, 401)["code"] == "unauthorized" and anonymous.headers["www-authenticate"] == "Bearer"
    forbidden = problem_of(await client.post("/scenarios/setup"), 403)
    assert forbidden["code"] == "forbidden" and "credit_manager" in str(forbidden["detail"])


async def test_a_domain_refusal_keeps_its_machine_code(client: httpx.AsyncClient) -> None:
    body = problem_of(await client.get("/scenarios/nope"), 404)
    assert body["code"] == "not_found" and "nope" in str(body["detail"])


async def test_an_unexpected_failure_leaks_nothing_but_the_correlation_id(public_key: Path) -> None:
    async with dunning(public_key) as app:
        @app.get("/explode")
        async def explode() -> None:
            raise RuntimeError("secret connection string mongodb://user:pw@db")

        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://dunning.test") as http:
            response = await http.get("/explode", headers={"X-Correlation-ID": "corr-1"})
    body = problem_of(response, 500)
    assert body["code"] == "internal_error" and body["correlation_id"] == "corr-1"
    assert "secret" not in response.text and "Traceback" not in response.text


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_every_operation_declares_its_errors_as_problems(service: str, public_key: Path) -> None:
    async with SERVICES[service](public_key) as app:
        spec = _openapi(app)
    assert spec["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "detail"]
    operations = [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]
    assert operations
    for path, method, operation in operations:
        for status in ("422", "4XX", "500"):
            content = operation["responses"][status]["content"]
            assert content == {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}, \
                (path, method, status)
    assert "HTTPValidationError" not in str(spec)
    schemas = spec["components"]["schemas"]
    assert all(ref.rsplit("/", 1)[1] in schemas for ref in _refs(spec)), "a $ref points at no schema"


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _openapi(app: FastAPI) -> dict[str, object]:
    return app.openapi()
