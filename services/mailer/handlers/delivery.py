"""Sending one claimed email: who it may go to (the suppression list), and the render, build and SMTP
transaction of it. The sender worker (`workers/sender.py`) claims sends and calls these per lane."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.mailer.domain.compose import (
    FetchedAttachment,
    Headers,
    SenderIdentity,
    as_bytes,
    compose_message,
    wants_list_unsubscribe,
)
from services.mailer.domain.sends import Job, Outcome, Send, Verdict, addressees, unsubscribe_address
from services.mailer.domain.suppressions import blocks
from services.mailer.ports import AttachmentSource, AttachmentUnavailable, SmtpTransport, SuppressionList
from shared.contracts.email import EmailPurpose, EmailRequested
from shared.contracts.envelope import Envelope
from shared.templating import TemplateRejected, render_email


@dataclass(frozen=True)
class Letterhead:
    """What every message of the mailer says about where it comes from."""

    sender_for: Callable[[str], SenderIdentity]  # the tenant's sender identity
    inbound_domain: str
    list_unsubscribe: bool  # List-Unsubscribe on automatic emails to clients


async def jobs_for(sends: Sequence[Send], suppressions: SuppressionList) -> list[Job]:
    """The claimed sends with the recipients the suppression list takes out of each (one query for all);
    raises when the list cannot be read: nothing is sent unchecked."""
    blocked = await suppressions.blocked((send.tenant_id, address) for send in sends for address in send.recipients)
    return [
        Job(send, tuple(address for address in send.recipients
                        if blocks(blocked.get((send.tenant_id, address.lower())), automatic=send.automatic)))
        for send in sends
    ]


async def deliver(job: Job, *, transport: SmtpTransport, attachments: AttachmentSource, letterhead: Letterhead,
                  now: datetime) -> tuple[Outcome, bool]:
    """Render, build and send one email; the bool says whether an SMTP transaction was tried."""
    send = job.send
    request = EmailRequested.model_validate(Envelope.model_validate_json(send.envelope_json).data)
    people = addressees(request.to, request.cc, job.suppressed)
    if not people.to:
        return Outcome(Verdict.PERMANENT, "every To recipient is on the suppression list"), False
    try:
        rendered = render_email(
            variants=request.variants, language=request.language, default_language=request.default_language,
            context=request.context, contact=people.to[0],
            allow_internal=request.purpose is EmailPurpose.INTERNAL_INTERACTIVE,
        )
    except TemplateRejected as exc:
        return Outcome(Verdict.PERMANENT, f"the template cannot be rendered: {exc}"), False
    fetched = []
    for ref in request.attachments:
        try:
            fetched.append(FetchedAttachment(ref, await attachments.fetch(ref)))
        except AttachmentUnavailable as exc:
            return Outcome(Verdict.PERMANENT if exc.permanent else Verdict.TEMPORARY, str(exc)), False
    message = compose_message(send, rendered=rendered, addressees=people, attachments=fetched,
                              headers=_headers(send, request, letterhead, now))
    return await transport.transact(send.envelope_from, people.addresses, as_bytes(message)), True


def _headers(send: Send, request: EmailRequested, letterhead: Letterhead, now: datetime) -> Headers:
    unsubscribe = None
    if letterhead.list_unsubscribe and wants_list_unsubscribe(purpose=send.purpose, automatic=send.automatic):
        unsubscribe = unsubscribe_address(send.send_id, letterhead.inbound_domain)
    return Headers(identity=letterhead.sender_for(send.tenant_id), company_name=request.context.company.name,
                   reply_to=request.reply_to, date=now, unsubscribe=unsubscribe)
