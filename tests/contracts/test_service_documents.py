"""Every service's OpenAPI passes an OpenAPI validator, and its AsyncAPI passes the official AsyncAPI JSON
schema (`@asyncapi/specs`, installed by `make install`) and documents every event it publishes and
consumes with its real headers and payload schema. Built offline from `create_app(..., adapters=fakes)`."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from shared.contracts.registry import EVENT_TYPES
from shared.contracts.topics import Topics
from tests.contracts.offline_services import SERVICES, documents

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI_SCHEMAS = ROOT / "node_modules" / "@asyncapi" / "specs" / "schemas"
TOPICS = Topics("")


@pytest.fixture(scope="module", params=SERVICES)
async def service_documents(request: pytest.FixtureRequest, public_key: Path) -> tuple[str, dict, dict]:
    openapi, asyncapi = await documents(request.param, public_key)
    return request.param, openapi, asyncapi


def asyncapi_validator(version: str) -> Draft7Validator:
    """The official JSON schema of that AsyncAPI version, from the pinned npm package `@asyncapi/specs`."""
    path = ASYNCAPI_SCHEMAS / f"{version}.json"
    if not path.exists():
        if shutil.which("node") is None:
            pytest.skip("node is not installed: the AsyncAPI schema comes from the npm package @asyncapi/specs")
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `make install` (it installs package.json)")
    schema = json.loads(path.read_text())
    # the bundled schema names each part by its $id; the draft-07 meta-schema it refers to is embedded too
    resources = [(uri, Resource.from_contents(part, default_specification=DRAFT7))
                 for uri, part in schema["definitions"].items()]
    return Draft7Validator(schema, registry=Registry().with_resources(resources))


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if isinstance(node.get("$ref"), str) else []) + [
            ref for value in node.values() for ref in refs_in(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs_in(value)]
    return []


def messages_of(asyncapi: dict[str, Any], action: str) -> set[str]:
    return {resolve(asyncapi, ref["$ref"])["$ref"].rsplit("/", 1)[1]
            for operation in asyncapi["operations"].values() if operation["action"] == action
            for ref in operation["messages"]} - {"DeadLetter"}


class TestOpenApi:
    async def test_the_openapi_document_is_valid(self, service_documents: tuple[str, dict, dict]) -> None:
        _, openapi, _ = service_documents
        validate_openapi(openapi)  # raises with the path of the first error

    async def test_every_operation_id_is_unique(self, service_documents: tuple[str, dict, dict]) -> None:
        _, openapi, _ = service_documents
        ids = [operation["operationId"] for path in openapi["paths"].values() for operation in path.values()
               if isinstance(operation, dict) and "operationId" in operation]
        assert len(ids) == len(set(ids)) and ids


class TestAsyncApi:
    async def test_the_asyncapi_document_passes_the_official_schema(
            self, service_documents: tuple[str, dict, dict]) -> None:
        _, _, asyncapi = service_documents
        errors = sorted(asyncapi_validator(asyncapi["asyncapi"]).iter_errors(asyncapi), key=lambda e: e.path)
        assert not errors, [f"{'/'.join(map(str, error.path))}: {error.message[:200]}" for error in errors[:5]]

    async def test_the_schema_check_refuses_a_broken_document(self, service_documents: tuple[str, dict, dict]
                                                              ) -> None:
        _, _, asyncapi = service_documents
        operation = next(iter(asyncapi["operations"]))
        broken = {**asyncapi, "operations": {operation: {**asyncapi["operations"][operation], "action": "publish"}},
                  "components": {**asyncapi["components"], "messages": {"broken": {"headline": "not a field"}}}}
        failed = {error.path[0] for error in asyncapi_validator(asyncapi["asyncapi"]).iter_errors(broken)}
        assert failed == {"operations", "components"}

    async def test_every_reference_resolves(self, service_documents: tuple[str, dict, dict]) -> None:
        _, _, asyncapi = service_documents
        refs = refs_in(asyncapi)
        assert refs
        for ref in refs:
            resolve(asyncapi, ref)

    async def test_every_message_has_its_cloudevents_headers_payload_and_a_declared_correlation_id(
            self, service_documents: tuple[str, dict, dict]) -> None:
        _, _, asyncapi = service_documents
        messages = {name: message for name, message in asyncapi["components"]["messages"].items()
                    if name != "DeadLetter"}
        assert messages
        for name, message in messages.items():
            headers = message["headers"]["properties"]
            assert {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "ce_tenantid",
                    "ce_correlationid", "ce_causationid", "content-type"} == set(headers), name
            assert headers["ce_type"]["const"] == name
            location = message["correlationId"]["location"]
            assert location.startswith("$message.header#/") and location.split("/", 1)[1] in headers
            payload = resolve(asyncapi, message["payload"]["$ref"])
            assert payload["type"] == "object" and payload["properties"], name
            assert set(payload["required"]) == {field for field, info in EVENT_TYPES[name].model_fields.items()
                                                if info.is_required()}

    async def test_each_consumed_topic_has_its_dead_letters_documented_with_their_reason(
            self, service_documents: tuple[str, dict, dict]) -> None:
        _, _, asyncapi = service_documents
        operations = asyncapi["operations"]
        for name, operation in operations.items():
            if operation["action"] == "receive":
                group, topic = name.split(":", 1)
                dead = operations[f"{group}:dead-letters:{topic}.dlq"]
                assert resolve(asyncapi, dead["channel"]["$ref"])["address"] == f"{topic}.dlq"
        headers = asyncapi["components"]["messages"]["DeadLetter"]["headers"]
        assert {"dlq_error", "dlq_consumer", "dlq_original_topic"} <= set(headers["required"])

    async def test_it_documents_every_event_the_service_publishes_and_consumes(
            self, service_documents: tuple[str, dict, dict]) -> None:
        service, _, asyncapi = service_documents
        assert messages_of(asyncapi, "send") == PUBLISHES[service]
        assert messages_of(asyncapi, "receive") == CONSUMES[service]
        for name, operation in asyncapi["operations"].items():
            channel = resolve(asyncapi, operation["channel"]["$ref"])
            if operation["action"] == "receive":  # `<group>:<topic>`, what the drain check reads
                assert name.split(":", 1)[1] == channel["address"]
            if channel["address"].endswith(".dlq"):
                continue
            for ref in operation["messages"]:
                message = resolve(asyncapi, resolve(asyncapi, ref["$ref"])["$ref"])
                assert TOPICS(EVENT_TYPES[message["name"]].stream) == channel["address"]


PUBLISHES = {
    "followups": {"arf.client.upserted.v1", "arf.items.upserted.v1", "arf.items.closed.v1",
                  "arf.item-status.changed.v1", "arf.items.detached.v1", "arf.items.reattached.v1",
                  "arf.status.defined.v1", "arf.action.changed.v1", "arf.email.requested.v1"},
    "dunning": {"arf.email.requested.v1", "arf.dunning.step-recorded.v1", "arf.dunning.action-executed.v1"},
    "mailer": {"arf.email.delivered.v1", "arf.email.failed.v1", "arf.reply.received.v1"},
    "indicators": set(),
}
CONSUMES = {
    "followups": {"arf.email.delivered.v1", "arf.email.failed.v1", "arf.reply.received.v1",
                  "arf.dunning.step-recorded.v1", "arf.dunning.action-executed.v1"},
    "dunning": {"arf.client.upserted.v1", "arf.items.upserted.v1", "arf.items.closed.v1",
                "arf.item-status.changed.v1", "arf.items.detached.v1", "arf.items.reattached.v1",
                "arf.status.defined.v1", "arf.action.changed.v1"},
    "mailer": {"arf.email.requested.v1"},
    "indicators": {"arf.client.upserted.v1", "arf.items.upserted.v1", "arf.items.closed.v1",
                   "arf.item-status.changed.v1", "arf.items.detached.v1", "arf.items.reattached.v1",
                   "arf.status.defined.v1", "arf.action.changed.v1"},
}
