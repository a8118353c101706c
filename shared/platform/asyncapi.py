"""The AsyncAPI 3.0 document of one service: every event it publishes and consumes, as it is on the wire.

Built from the contracts themselves (the payload classes a service declares it publishes, the routes of
its consumer groups), so it needs no broker and is the same offline: each message has its binary-mode
CloudEvents headers (`ce_*`), its payload schema, the Kafka key, and `correlationId` pointing at the
`ce_correlationid` header it declares. Receive operations are named `<consumer group>:<topic>`; what a
group cannot handle it sends to the topic's dead-letter topic (`<group>:dead-letters:<topic>.dlq`).
"""

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from shared.contracts.envelope import EventPayload
from shared.contracts.topics import Stream, Topics

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
SCHEMAS = "#/components/schemas/"


class ConsumerGroup(Protocol):
    """What the document needs of a consumer group: its name and the payload class of each route."""

    consumer: str

    @property
    def routes(self) -> dict[str, Any]: ...


def asyncapi_document(*, title: str, description: str, service: str, topics: Topics, servers: str,
                      published: Sequence[type[EventPayload]], consumers: Iterable[ConsumerGroup]) -> dict[str, Any]:
    """The whole document: channels per topic, a send operation per published topic, a receive one per group."""
    document = _Document(service, topics)
    by_stream: dict[Stream, list[type[EventPayload]]] = {}
    for payload in published:
        by_stream.setdefault(payload.stream, []).append(payload)
    for stream, payloads in sorted(by_stream.items()):
        document.operation(f"{service}:publishes:{topics(stream)}", "send", stream, payloads,
                           f"The {service} service publishes these events (from its outbox, in order per key).")
    for group in consumers:
        handled: dict[Stream, list[type[EventPayload]]] = {}
        for route in group.routes.values():
            handled.setdefault(route.payload_cls.stream, []).append(route.payload_cls)
        for stream, payloads in sorted(handled.items()):
            document.operation(f"{group.consumer}:{topics(stream)}", "receive", stream, payloads,
                               f"Consumer group {group.consumer} handles these events; any other type of no "
                               f"contract goes to {topics.dead_letter(stream)} with its reason.")
            document.dead_letters(group.consumer, stream)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": title, "version": "0.1.0", "description": description + "\n\n" + WIRE},
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": servers.split(",")[0], "protocol": "kafka",
                              "description": "The Kafka cluster (bootstrap servers: " + servers + ")"}},
        "channels": document.channels,
        "operations": document.operations,
        "components": {"messages": document.messages, "schemas": document.schemas},
    }


WIRE = ("Every event is a binary-mode CloudEvent (CloudEvents 1.0 Kafka binding): its attributes are the "
        "`ce_*` headers, with the extensions `ce_tenantid`, `ce_correlationid` and `ce_causationid`; "
        "`content-type` is `application/json`; the value is the payload alone; the record key is "
        "`<tenant_id>:<client_id>` (the `partitionkey` extension), so one client's events stay in order.")


class _Document:
    def __init__(self, service: str, topics: Topics) -> None:
        self.service = service
        self.topics = topics
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        self.schemas: dict[str, Any] = {}

    def operation(self, name: str, action: str, stream: Stream, payloads: list[type[EventPayload]],
                  description: str) -> None:
        channel = self._channel(stream)
        refs = []
        for payload in sorted(set(payloads), key=lambda cls: cls.type_name()):
            message_id = self._message(payload)
            channel["messages"][message_id] = {"$ref": f"#/components/messages/{message_id}"}
            refs.append({"$ref": f"#/channels/{_channel_id(stream)}/messages/{message_id}"})
        self.operations[name] = {"action": action, "channel": {"$ref": f"#/channels/{_channel_id(stream)}"},
                                 "description": description, "messages": refs}

    def dead_letters(self, consumer: str, stream: Stream) -> None:
        """The send operation of a group's dead letters: the original record, plus `dlq_*` headers."""
        channel_id = _channel_id(stream) + "_dlq"
        self.channels.setdefault(channel_id, {
            "address": self.topics.dead_letter(stream),
            "description": f"What the consumers of {self.topics(stream)} could not handle, each with its reason; "
                           "`make replay-dlq` sends them back to one consumer group.",
            "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
            "bindings": {"kafka": {"topic": self.topics.dead_letter(stream), "bindingVersion": KAFKA_BINDING_VERSION}},
        })
        self.messages.setdefault("DeadLetter", DEAD_LETTER)
        self.operations[f"{consumer}:dead-letters:{self.topics.dead_letter(stream)}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{channel_id}"},
            "description": f"Consumer group {consumer} dead-letters what it cannot handle.",
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/DeadLetter"}]}

    def _channel(self, stream: Stream) -> dict[str, Any]:
        channel_id = _channel_id(stream)
        if channel_id not in self.channels:
            self.channels[channel_id] = {
                "address": self.topics(stream), "messages": {},
                "description": f"The {stream.value} topic; what cannot be handled goes to "
                               f"{self.topics.dead_letter(stream)}.",
                "bindings": {"kafka": {"topic": self.topics(stream), "bindingVersion": KAFKA_BINDING_VERSION}},
            }
        return self.channels[channel_id]  # type: ignore[no-any-return]

    def _message(self, payload: type[EventPayload]) -> str:
        message_id = payload.type_name()
        if message_id not in self.messages:
            self.messages[message_id] = {
                "name": message_id,
                "title": payload.__name__,
                "summary": _first_line(payload.__doc__),
                "description": (payload.__doc__ or "").strip(),
                "contentType": "application/json",
                "headers": cloudevents_headers(message_id),
                "payload": {"$ref": SCHEMAS + self._schema(payload)},
                "correlationId": {"description": "The flow this event belongs to (the request that started it)",
                                  "location": "$message.header#/ce_correlationid"},
                "bindings": {"kafka": {"key": {"type": "string", "description": "<tenant_id>:<client_id>"},
                                       "bindingVersion": KAFKA_BINDING_VERSION}},
            }
        return message_id

    def _schema(self, payload: type[EventPayload]) -> str:
        schema = payload.model_json_schema(mode="serialization", ref_template=SCHEMAS + "{model}")
        for name, definition in schema.pop("$defs", {}).items():
            self.schemas.setdefault(name, definition)
        self.schemas[payload.__name__] = schema
        return payload.__name__


def cloudevents_headers(event_type: str) -> dict[str, Any]:
    """The Kafka headers of one event type: the CloudEvents attributes in binary mode."""
    text = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_tenantid",
                     "ce_correlationid", "content-type"],
        "properties": {
            "ce_specversion": {"type": "string", "const": "1.0", "description": "CloudEvents specversion"},
            "ce_id": {**text, "description": "The event id (unique per source; a redelivery keeps it)"},
            "ce_source": {**text, "description": "The producing service, e.g. /services/followups"},
            "ce_type": {"type": "string", "const": event_type, "description": "The versioned event type"},
            "ce_time": {"type": "string", "format": "date-time", "description": "When it happened (RFC 3339)"},
            "ce_subject": {**text, "description": "What the event is about, when it names one thing"},
            "ce_tenantid": {**text, "description": "Extension tenantid: the tenant the event belongs to"},
            "ce_correlationid": {**text, "description": "Extension correlationid: the flow it belongs to"},
            "ce_causationid": {**text, "description": "Extension causationid: the id of the event that caused it"},
            "content-type": {"type": "string", "const": "application/json", "description": "datacontenttype"},
        },
    }


DEAD_LETTER: dict[str, Any] = {
    "name": "DeadLetter",
    "title": "A record that could not be handled",
    "summary": "The original record (key, value and headers unchanged) plus why and where it failed",
    "headers": {
        "type": "object",
        "description": "The original record's headers (its ce_* attributes, when it had them) and these",
        "required": ["dlq_error", "dlq_attempts", "dlq_consumer", "dlq_original_topic", "dlq_at"],
        "properties": {
            "dlq_error": {"type": "string", "description": "The reason: `<error class>: <message>`"},
            "dlq_attempts": {"type": "string", "pattern": "^[0-9]+$", "description": "Attempts made"},
            "dlq_consumer": {"type": "string", "description": "The consumer group that gave up"},
            "dlq_original_topic": {"type": "string"},
            "dlq_original_partition": {"type": "string", "pattern": "^[0-9]+$"},
            "dlq_original_offset": {"type": "string", "pattern": "^[0-9]+$"},
            "dlq_event_id": {"type": "string", "description": "The event id, empty when the record was unreadable"},
            "dlq_at": {"type": "string", "format": "date-time"},
            "ce_correlationid": {"type": "string", "description": "The original's, when it was an event"},
        },
        "additionalProperties": {"type": "string"},
    },
    "payload": {"description": "The original record's value, unchanged: any bytes (it may not even be JSON)"},
    "correlationId": {"description": "The flow of the original event, when the record was one",
                      "location": "$message.header#/ce_correlationid"},
}


def _channel_id(stream: Stream) -> str:
    return stream.name.lower()


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
