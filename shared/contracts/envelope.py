"""The CloudEvents 1.0 envelope every event travels in, and the base of every payload.

On Kafka an event is a binary-mode CloudEvent: the attributes are `ce_*` headers (the extensions
`ce_tenantid`, `ce_correlationid`, `ce_causationid`), `content-type: application/json`, the payload
alone is the value and the partition key is the record's key. Records written before that carried the
whole envelope in the value (and `tenant_id`/`correlation_id` headers): `from_kafka` still reads them.
"""

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self, TypeVar
from uuid import uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from shared.contracts.topics import Stream


class EventPayload(BaseModel):
    """Base of every event payload: frozen, unknown fields ignored, type and version fixed per class.

    A subclass sets `event_type` (a past fact, e.g. `arf.items.detached`), `stream` and
    `schema_version`; the versioned type on the wire is `<event_type>.v<schema_version>`.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    stream: ClassVar[Stream]

    @classmethod
    def type_name(cls) -> str:
        return f"{cls.event_type}.v{cls.schema_version}"


P = TypeVar("P", bound=EventPayload)


class Envelope(BaseModel):
    """CloudEvents 1.0 attributes plus tenant, correlation and causation; `data` is the payload."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1)
    source: str = Field(min_length=1, description="The producing service, e.g. /services/followups")
    type: str = Field(min_length=1, description="Versioned event type, e.g. arf.items.detached.v1")
    time: AwareDatetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    tenant_id: str = Field(min_length=1)
    partitionkey: str = Field(min_length=1, description="Kafka key: tenant_id:client_id")
    correlation_id: str = Field(min_length=1)
    causation_id: str | None = None
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        payload: EventPayload,
        *,
        tenant_id: str,
        key_id: str,
        source: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        subject: str | None = None,
        time: datetime | None = None,
    ) -> Self:
        """Put a payload in an envelope; the event id doubles as correlation id for a new flow."""
        event_id = str(uuid4())
        return cls(
            id=event_id,
            source=source,
            type=payload.type_name(),
            time=time or datetime.now(UTC),
            subject=subject,
            tenant_id=tenant_id,
            partitionkey=partition_key(tenant_id, key_id),
            correlation_id=correlation_id or event_id,
            causation_id=causation_id,
            data=payload.model_dump(mode="json"),
        )

    def payload(self, payload_cls: "type[P]") -> "P":
        return payload_cls.model_validate(self.data)

    def kafka_headers(self) -> dict[str, str]:
        """The binary-mode CloudEvents headers: every attribute but the data and the partition key."""
        headers = {"ce_specversion": self.specversion, "ce_id": self.id, "ce_source": self.source,
                   "ce_type": self.type, "ce_time": self.time.isoformat()}
        if self.subject is not None:
            headers["ce_subject"] = self.subject
        for extension, field_name in EXTENSIONS.items():
            if (value := getattr(self, field_name)) is not None:
                headers[f"ce_{extension}"] = value
        headers["content-type"] = self.datacontenttype
        return headers

    def kafka_value(self) -> bytes:
        """The Kafka value: the payload alone, as JSON."""
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_kafka(cls, value: bytes, headers: Mapping[str, str], key: bytes | None) -> Self:
        """The envelope of a record, binary mode or the former whole-envelope value; raises NotAnEvent."""
        try:
            if is_binary_mode(headers):
                return cls._from_binary(value, headers, key)
            return cls.model_validate_json(value)
        except ValidationError as exc:
            raise NotAnEvent(f"not an event envelope: {_first_error(exc)}") from exc

    @classmethod
    def _from_binary(cls, value: bytes, headers: Mapping[str, str], key: bytes | None) -> Self:
        content_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise NotAnEvent(f"content-type {content_type!r} is not application/json")
        if not key:
            raise NotAnEvent("no record key: the partition key (tenant:client) is missing")
        try:
            data = json.loads(value)
        except ValueError as exc:
            raise NotAnEvent(f"the value is not JSON: {exc}") from exc
        attributes: dict[str, Any] = {name[3:]: text for name, text in headers.items() if name.startswith("ce_")}
        for extension, field_name in EXTENSIONS.items():
            attributes[field_name] = attributes.pop(extension, None)
        return cls.model_validate({**attributes, "partitionkey": key.decode("utf-8", "replace"), "data": data})


# CloudEvents extension names (lower-case letters and digits) -> the envelope's fields
EXTENSIONS = {"tenantid": "tenant_id", "correlationid": "correlation_id", "causationid": "causation_id"}


class NotAnEvent(ValueError):
    """A Kafka record that cannot be read as an event: it can never be handled."""


def is_binary_mode(headers: Mapping[str, str]) -> bool:
    """Binary mode has `ce_specversion`; the former format also had a `tenant_id` header."""
    return "ce_specversion" in headers and "tenant_id" not in headers


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"


def partition_key(tenant_id: str, key_id: str) -> str:
    """Everything about one client stays ordered on one partition."""
    return f"{tenant_id}:{key_id}"
