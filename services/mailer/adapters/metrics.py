"""The mailer's own metrics, on the service's registry (served at /metrics with the platform's)."""

from prometheus_client import Counter, Histogram

from shared.platform.metrics import Metrics


class MailerMetrics:
    """Send outcomes, relay connection failures, inbound mails and send durations."""

    def __init__(self, metrics: Metrics) -> None:
        registry = metrics.registry
        self.sends = Counter("arf_mailer_send_outcomes_total",
                             "Send outcomes written to the ledger, by resulting state", ["outcome"], registry=registry)
        self.smtp_connect_failures = Counter("arf_mailer_smtp_connect_failures_total",
                                             "Failed attempts to connect to the SMTP relay", registry=registry)
        self.inbound = Counter("arf_mailer_inbound_total",
                               "Inbound mails per recipient, by kind (reply, bounce, unsubscribe, unknown) and outcome "
                               "(accepted, refused, deferred)", ["kind", "outcome"], registry=registry)
        self.send_seconds = Histogram("arf_mailer_send_seconds", "Render, build and SMTP transaction of one email",
                                      registry=registry)
