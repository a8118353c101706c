"""Every event type on the wire is a binary-mode CloudEvent that the CloudEvents SDK reads and writes,
and the consumer still reads the records written before (the whole envelope in the value)."""

import json
from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings import kafka as core_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as CoreCloudEvent
from cloudevents.v1 import kafka as v1_kafka
from cloudevents.v1.http import CloudEvent as V1CloudEvent

from shared.contracts.envelope import Envelope, NotAnEvent
from shared.contracts.registry import EVENT_TYPES
from tests.contracts.legacy import legacy_record
from tests.contracts.samples import SAMPLES, sample

TYPES = sorted(EVENT_TYPES)
AT = datetime(2026, 3, 2, 9, 30, 15, 250000, tzinfo=UTC)
EXTENSIONS = {"tenantid": "acme", "correlationid": "corr-1", "causationid": "cause-1"}


def envelope_of(event_type: str, **extra: object) -> Envelope:
    return Envelope.wrap(sample(event_type), tenant_id="acme", key_id="C1", source="/services/followups",
                         correlation_id="corr-1", causation_id="cause-1", time=AT, **extra)  # type: ignore[arg-type]


def as_bytes(headers: dict[str, str]) -> dict[str, bytes]:
    return {name: value.encode() for name, value in headers.items()}


def test_every_registered_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", TYPES)
class TestOurRecordsReadByTheSdk:
    def test_the_sdk_reads_the_attributes_extensions_and_payload_alone(self, event_type: str) -> None:
        envelope = envelope_of(event_type, subject="I1")
        message = v1_kafka.KafkaMessage(as_bytes(envelope.kafka_headers()), envelope.partitionkey.encode(),
                                        envelope.kafka_value())
        event = v1_kafka.from_binary(message)
        assert (event["specversion"], event["id"], event["source"], event["type"], event["subject"]) == (
            "1.0", envelope.id, "/services/followups", event_type, "I1")
        assert datetime.fromisoformat(event["time"]) == AT
        assert event["datacontenttype"] == "application/json"
        assert {name: event[name] for name in EXTENSIONS} == EXTENSIONS
        assert event["partitionkey"] == b"acme:C1"
        assert event.get_data() == sample(event_type).model_dump(mode="json")
        assert EVENT_TYPES[event_type].model_validate(event.get_data()) == sample(event_type)

    def test_the_strict_sdk_binding_accepts_every_attribute_name(self, event_type: str) -> None:
        envelope = envelope_of(event_type)
        message = core_kafka.KafkaMessage(headers=as_bytes(envelope.kafka_headers()),
                                          key=envelope.partitionkey.encode(), value=envelope.kafka_value())
        event = core_kafka.from_binary(message, JSONFormat())  # validates names: lower-case letters, digits
        assert event.get_type() == event_type and event.get_time() == AT
        assert core_kafka.from_kafka(message, JSONFormat()).get_id() == envelope.id  # detected as binary mode
        assert event.get_extension("tenantid") == "acme"
        assert event.get_data() == sample(event_type).model_dump(mode="json")


@pytest.mark.parametrize("event_type", TYPES)
class TestSdkRecordsReadByUs:
    def test_an_event_written_by_the_sdk_is_read_as_our_envelope(self, event_type: str) -> None:
        data = sample(event_type).model_dump(mode="json")
        event = V1CloudEvent({"id": "e-1", "source": "/partners/erp", "type": event_type, "time": AT.isoformat(),
                              "subject": "I1", "datacontenttype": "application/json", "partitionkey": "acme:C1",
                              **EXTENSIONS}, data)
        message = v1_kafka.to_binary(event)
        headers = {name: value.decode() for name, value in message.headers.items()}
        envelope = Envelope.from_kafka(message.value, headers, message.key.encode())  # type: ignore[union-attr]
        assert (envelope.id, envelope.source, envelope.type, envelope.time, envelope.subject) == (
            "e-1", "/partners/erp", event_type, AT, "I1")
        assert (envelope.tenant_id, envelope.correlation_id, envelope.causation_id) == ("acme", "corr-1", "cause-1")
        assert envelope.partitionkey == "acme:C1"
        assert envelope.payload(EVENT_TYPES[event_type]) == sample(event_type)

    def test_an_event_written_by_the_strict_sdk_binding_is_read_too(self, event_type: str) -> None:
        data = sample(event_type).model_dump(mode="json")
        event = CoreCloudEvent({"id": "e-2", "source": "/partners/erp", "type": event_type, "time": AT,
                                "specversion": "1.0", "datacontenttype": "application/json",
                                "partitionkey": "acme:C1", "tenantid": "acme", "correlationid": "corr-2"}, data)
        message = core_kafka.to_binary(event, JSONFormat())
        headers = {name: value.decode() for name, value in message.headers.items()}
        key = message.key.encode() if isinstance(message.key, str) else message.key
        envelope = Envelope.from_kafka(message.value, headers, key)
        assert (envelope.type, envelope.time, envelope.tenant_id, envelope.causation_id) == (event_type, AT, "acme", None)
        assert envelope.payload(EVENT_TYPES[event_type]) == sample(event_type)


class TestTheWireFormat:
    def test_the_value_is_the_payload_alone_and_the_headers_are_the_attributes(self) -> None:
        envelope = envelope_of("arf.items.detached.v1")
        assert json.loads(envelope.kafka_value()) == sample("arf.items.detached.v1").model_dump(mode="json")
        assert set(envelope.kafka_headers()) == {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time",
                                                 "ce_tenantid", "ce_correlationid", "ce_causationid", "content-type"}
        assert envelope.kafka_headers()["content-type"] == "application/json"

    def test_absent_subject_and_causation_send_no_header(self) -> None:
        envelope = Envelope.wrap(sample("arf.client.upserted.v1"), tenant_id="acme", key_id="C1", source="/s", time=AT)
        assert "ce_subject" not in envelope.kafka_headers() and "ce_causationid" not in envelope.kafka_headers()
        assert Envelope.from_kafka(envelope.kafka_value(), envelope.kafka_headers(), b"acme:C1") == envelope

    @pytest.mark.parametrize("event_type", TYPES)
    def test_the_former_format_is_still_read(self, event_type: str) -> None:
        envelope = envelope_of(event_type)
        value, headers = legacy_record(envelope)
        assert Envelope.from_kafka(value, headers, envelope.partitionkey.encode()) == envelope
        assert Envelope.from_kafka(value, {}, None) == envelope  # a bare envelope without headers, too

    @pytest.mark.parametrize(("change", "reason"), [
        ({"content-type": "text/plain"}, "content-type 'text/plain' is not application/json"),
        ({"ce_tenantid": None}, "tenant_id"),
        ({"ce_time": "yesterday"}, "time"),
        ({"ce_specversion": "0.3"}, "specversion"),
    ])
    def test_a_malformed_binary_record_is_not_an_event_and_says_why(self, change: dict[str, str | None],
                                                                      reason: str) -> None:
        envelope = envelope_of("arf.client.upserted.v1")
        headers = {name: value for name, value in {**envelope.kafka_headers(), **change}.items() if value is not None}
        with pytest.raises(NotAnEvent, match=reason):
            Envelope.from_kafka(envelope.kafka_value(), headers, b"acme:C1")

    @pytest.mark.parametrize(("value", "key", "reason"), [
        (b"\x00not json", b"acme:C1", "not JSON"), (b"[1, 2]", b"acme:C1", "data"), (b"{}", None, "no record key")])
    def test_a_binary_record_without_a_json_object_or_a_key_is_not_an_event(self, value: bytes, key: bytes | None,
                                                                           reason: str) -> None:
        headers = envelope_of("arf.client.upserted.v1").kafka_headers()
        with pytest.raises(NotAnEvent, match=reason):
            Envelope.from_kafka(value, headers, key)
