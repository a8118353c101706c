"""The Kafka record format used before binary-mode CloudEvents: the whole envelope as the value."""

from shared.contracts.envelope import Envelope


def legacy_record(envelope: Envelope) -> tuple[bytes, dict[str, str]]:
    """(value, headers) exactly as the outbox staged them until binary mode: consumers must still read them."""
    headers = {"ce_id": envelope.id, "ce_type": envelope.type, "ce_source": envelope.source,
               "ce_specversion": envelope.specversion, "tenant_id": envelope.tenant_id,
               "correlation_id": envelope.correlation_id, "content-type": envelope.datacontenttype}
    if envelope.causation_id:
        headers["causation_id"] = envelope.causation_id
    return envelope.model_dump_json().encode(), headers
