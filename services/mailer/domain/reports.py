"""Delivery reports: the EmailDelivered / EmailFailed event a report of a send becomes. Pure."""

from datetime import datetime

from services.mailer.domain.sends import Report, Send
from shared.contracts.email import EmailDelivered, EmailFailed
from shared.contracts.envelope import EventPayload


def delivery_report(send: Send, report: Report, *, at: datetime) -> EventPayload:
    """The event of one report: delivered to its recipients, or failed for them."""
    if report.failure is None:
        return EmailDelivered(
            request_id=send.request_id, idempotency_key=send.idempotency_key, client_id=send.client_id,
            action_id=send.action_id, purpose=send.purpose, recipients=list(report.recipients),
            message_id=send.message_id, delivered_at=at,
        )
    failure = report.failure
    return EmailFailed(
        request_id=send.request_id, idempotency_key=send.idempotency_key, client_id=send.client_id,
        action_id=send.action_id, purpose=send.purpose, recipients=list(report.recipients),
        message_id=send.message_id, kind=failure.kind, reason=failure.reason[:2000], smtp_code=failure.smtp_code,
        failed_at=at,
    )
