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
        # A consumer reading in batches falls behind quietly when its batches shrink: show their size and time.
        self.batch_events = Histogram(
            "arf_batch_events", "Events handled in one transaction by a batch consumer", ["consumer"],
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500), **labels,
        )
        self.batch_seconds = Histogram(
            "arf_batch_seconds", "Time to handle one batch in its transaction", ["consumer"], **labels
        )
        self.transaction_retries = Counter(
            "arf_transaction_retries_total",
            "Consumer transactions started again after a transient error (a write conflict, mostly)",
            ["consumer"], **labels,
        )
        self.outbox_pending = Gauge("arf_outbox_pending_rows", "Outbox rows not yet published", **labels)
        self.outbox_lag_seconds = Gauge(
            "arf_outbox_lag_seconds", "Age of the oldest outbox row not yet published", **labels
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
