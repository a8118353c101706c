"""Prometheus metrics every service exposes at /metrics: events in and out, failures, latency, lag."""

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """One registry per service instance, so several apps can live in one test process."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"registry": self.registry}
        self.service = service
        self.events_consumed = Counter(
            "arf_events_consumed_total",
            "Events taken from Kafka, by outcome: handled, duplicate, unknown_type, dead_lettered, skipped",
            ["consumer", "type", "outcome"],
            **labels,
        )
        self.events_published = Counter("arf_events_published_total", "Events published to Kafka", ["topic"], **labels)
        self.events_failed = Counter(
            "arf_events_failed_total", "Failed handler attempts", ["consumer", "type", "error"], **labels
        )
        self.handler_seconds = Histogram(
            "arf_handler_seconds", "Time to handle one event", ["consumer", "type"], **labels
        )
        self.outbox_pending = Gauge("arf_outbox_pending_rows", "Outbox rows not yet published", **labels)
        self.outbox_lag_seconds = Gauge(
            "arf_outbox_lag_seconds", "Age of the oldest outbox row not yet published", **labels
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
