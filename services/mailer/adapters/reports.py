"""Delivery reports: EmailDelivered / EmailFailed staged in the outbox, in the transaction that
records the outcome in the ledger, keyed by client and caused by the request event; and the
replies the inbound listener received (ReplyReceived), in the flow of the email they answer."""

from collections.abc import Sequence
from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from services.mailer.domain import Send
from shared.contracts.email import EmailDelivered, EmailFailed, FailureKind, ReplyReceived
from shared.contracts.envelope import Envelope, EventPayload
from shared.platform.outbox import Outbox


class DeliveryReports:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def delivered(self, send: Send, *, recipients: Sequence[str], at: datetime) -> Envelope:
        return self._envelope(send, EmailDelivered(
            request_id=send.request_id, idempotency_key=send.idempotency_key, client_id=send.client_id,
            action_id=send.action_id, purpose=send.purpose, recipients=list(recipients),
            message_id=send.message_id, delivered_at=at,
        ))

    def failed(self, send: Send, *, recipients: Sequence[str], kind: FailureKind, reason: str,
               smtp_code: int | None, at: datetime) -> Envelope:
        return self._envelope(send, EmailFailed(
            request_id=send.request_id, idempotency_key=send.idempotency_key, client_id=send.client_id,
            action_id=send.action_id, purpose=send.purpose, recipients=list(recipients),
            message_id=send.message_id, kind=kind, reason=reason[:2000], smtp_code=smtp_code, failed_at=at,
        ))

    async def stage(self, session: AsyncClientSession, envelopes: Sequence[Envelope]) -> None:
        await self.outbox.stage(session, envelopes)

    def committed(self) -> None:
        self.outbox.notify_committed()

    def _envelope(self, send: Send, payload: EventPayload) -> Envelope:
        return self.outbox.envelope(
            payload, tenant_id=send.tenant_id, key_id=send.client_id, correlation_id=send.correlation_id,
            causation_id=send.event_id, subject=send.request_id,
        )


class ReplyReports:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def received(self, reply: ReplyReceived, *, tenant_id: str, correlation_id: str, causation_id: str | None
                 ) -> Envelope:
        return self.outbox.envelope(reply, tenant_id=tenant_id, key_id=reply.client_id, correlation_id=correlation_id,
                                    causation_id=causation_id, subject=reply.action_id)

    async def stage(self, session: AsyncClientSession, envelopes: Sequence[Envelope]) -> None:
        await self.outbox.stage(session, envelopes)

    def committed(self) -> None:
        self.outbox.notify_committed()
