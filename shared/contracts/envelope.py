"""The CloudEvents 1.0 envelope every event travels in, and the base of every payload."""

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self, TypeVar
from uuid import uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

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
        """The attributes a consumer, a dead-letter tool or a human needs without parsing the body."""
        headers = {
            "ce_id": self.id,
            "ce_type": self.type,
            "ce_source": self.source,
            "ce_specversion": self.specversion,
            "tenant_id": self.tenant_id,
            "correlation_id": self.correlation_id,
            "content-type": self.datacontenttype,
        }
        if self.causation_id:
            headers["causation_id"] = self.causation_id
        return headers


def partition_key(tenant_id: str, key_id: str) -> str:
    """Everything about one client stays ordered on one partition."""
    return f"{tenant_id}:{key_id}"
