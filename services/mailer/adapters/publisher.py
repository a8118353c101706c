"""The mailer's events, staged in the outbox in the transaction of the unit of work: delivery reports
(EmailDelivered / EmailFailed) keyed by client and caused by the request event, and the replies the
inbound listener received (ReplyReceived), in the flow of the email they answer.

Envelopes are built here rather than through the unit of work's `Outgoing`: each event carries the
flow of the email it is about (a batch of outcomes holds sends of many requests), a batch's reports
are staged in one write, and a reply's record keeps the id of its event.
"""

from collections.abc import Sequence
from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from services.mailer.domain.reports import delivery_report
from services.mailer.domain.sends import Report, Send
from shared.contracts.email import ReplyReceived
from shared.contracts.envelope import Envelope
from shared.platform.outbox import Outbox
from shared.ports import Flow


class OutboxPublisher:
    """Stages in the outbox, in the transaction of `session`."""

    def __init__(self, outbox: Outbox, session: AsyncClientSession | None) -> None:
        self.outbox, self.session = outbox, session

    async def delivery_reports(self, reports: Sequence[tuple[Send, Report]], *, at: datetime) -> None:
        await self._stage([
            self.outbox.envelope(delivery_report(send, report, at=at), tenant_id=send.tenant_id, key_id=send.client_id,
                                 correlation_id=send.correlation_id, causation_id=send.event_id,
                                 subject=send.request_id)
            for send, report in reports
        ])

    async def reply_received(self, reply: ReplyReceived, *, flow: Flow) -> str:
        envelope = self.outbox.envelope(reply, tenant_id=flow.tenant_id, key_id=reply.client_id,
                                        correlation_id=flow.correlation_id, causation_id=flow.causation_id,
                                        subject=reply.action_id)
        await self._stage([envelope])
        return envelope.id

    async def _stage(self, envelopes: list[Envelope]) -> None:
        if self.session is None:
            raise RuntimeError("events are published only from inside a unit of work")
        await self.outbox.stage(self.session, envelopes)
