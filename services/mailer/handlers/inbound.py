"""What the inbound listener does with each mail: one async function per kind of recipient.

A mail that cannot be taken raises `MailRefused` with the SMTP reply to give (5xx: the sender's
MTA bounces it with that reason; 4xx: it tries again later); any other error becomes a 4xx (in the
listener), so nothing is lost while the database is away. Every write of one mail, and the events it
causes, is one unit of work; replies are recorded under an id derived from their Message-ID, so an
MTA's retry publishes nothing twice.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import TypeAdapter, ValidationError

from services.mailer.domain.claims import Claim, sign_claim
from services.mailer.domain.inbound.addresses import author, reply_id, token_key
from services.mailer.domain.inbound.attachments import Limits, RefusedFile, ReplyFile, reply_files
from services.mailer.domain.inbound.autoreply import is_auto_reply, return_date
from services.mailer.domain.inbound.dsn import DeliveryReport, bounce_decisions, bounce_failure, delivery_reports
from services.mailer.domain.inbound.mail import Incoming, InboundRecord, MailRefused, ReplyTarget
from services.mailer.domain.inbound.text import reply_text
from services.mailer.domain.sends import Failure, Report, Send, SendState
from services.mailer.domain.suppressions import SuppressionScope, SuppressionSource
from services.mailer.handlers.suppressions import suppress
from services.mailer.ports import AlreadyReceived, MailerTx, ReplyFiles
from shared.contracts.email import AttachmentRef, EmailPurpose, FailureKind, ReplyKind, ReplyReceived
from shared.contracts.values import EmailAddress
from shared.links import LinkKeys, LinkRejected, RejectionReason, verify_reply_token
from shared.platform.clock import Clock
from shared.ports import Flow, UnitOfWork

log = logging.getLogger(__name__)
_EMAIL = TypeAdapter(EmailAddress)
_WHY = {
    RejectionReason.EXPIRED: "this reply address has expired; use the link in the email",
    RejectionReason.FORGED: "this reply address is not valid",
    RejectionReason.MALFORMED: "this reply address is not valid",
    RejectionReason.UNKNOWN_KEY: "this reply address is no longer valid",
}


@dataclass(frozen=True)
class Inbound:
    """The ports and settings the inbound handlers work with."""

    uow: UnitOfWork[MailerTx]
    files: ReplyFiles
    clock: Clock
    keys: LinkKeys | None  # None: replies by email are refused
    limits: Limits  # which files of a reply are kept
    claim_ttl: timedelta  # how long the claim check of a reply's file is valid
    public_base_url: str  # where the claim checks are served


# -- at RCPT: is this address ours, and still valid? ------------------------------------------------

async def resolve_reply(token: str, *, deps: Inbound) -> ReplyTarget:
    """The reply address's token, checked, and its route; MailRefused with the reason otherwise."""
    if deps.keys is None:
        raise MailRefused(550, "5.7.1", "replies by email are not enabled here")
    try:
        parsed = verify_reply_token(token, deps.keys, now=deps.clock.now())
    except LinkRejected as exc:
        raise MailRefused(550, "5.7.1", _WHY[exc.reason]) from None
    route = await deps.uow.reading().routes.find(parsed.tenant_id, token_key(token))
    if route is None:
        raise MailRefused(550, "5.1.1", "no such reply address")
    if route.action_id is None:
        raise MailRefused(550, "5.7.1", "this email cannot be answered by email; use its link")
    return ReplyTarget(parsed, route)


async def resolve_send(send_id: str, *, deps: Inbound) -> Send:
    """The send a bounce or unsubscribe address names; MailRefused when there is none."""
    send = await deps.uow.reading().sends.by_id(send_id)
    if send is None:
        raise MailRefused(550, "5.1.1", "no such address")
    return send


# -- at DATA ----------------------------------------------------------------------------------------

async def receive_reply(mail: Incoming, target: ReplyTarget, *, deps: Inbound) -> None:
    """A colleague's answer becomes ReplyReceived (a comment; an auto-reply with its return date)."""
    sender = _sender(mail)
    token, route = target.token, target.route
    if not target.token.accepts_sender(sender):
        raise MailRefused(550, "5.7.1", "this reply address belongs to another recipient")
    auto = is_auto_reply(mail.message)
    text = reply_text(mail.message)
    files, refused = ([], []) if auto else reply_files(mail.message, deps.limits)
    if not auto and not text and not files and not refused:
        log.info("empty reply to link %s from %s ignored", token.link_id, sender)
        return
    await _publish(mail, deps=deps, tenant_id=token.tenant_id, scope=f"link:{token.link_id}", sender=sender,
                   auto=auto, text=text, files=files, refused=refused, client_id=route.client_id,
                   action_id=route.action_id or "", link_id=token.link_id, correlation_id=route.correlation_id,
                   causation_id=route.request_event_id)


async def receive_bounce(mail: Incoming, send_id: str, *, deps: Inbound) -> None:
    """A bounce fails the send for the addresses it names (once), and suppresses hard-bounced ones;
    an auto-reply sent to the bounce address is read as one; anything else is noted and dropped."""
    send = await resolve_send(send_id, deps=deps)
    if send.state in (SendState.PENDING, SendState.SENDING):
        raise MailRefused(451, "4.3.0", "that email is still being sent; try again later")
    reports = delivery_reports(mail.message, recipients=send.recipients)
    now = deps.clock.now()
    if reports is None:
        if is_auto_reply(mail.message):
            await _auto_reply_to_send(mail, send, deps=deps)
        else:
            await _note(send, f"a mail from {_sender(mail)} that is not a bounce came to the bounce address: ignored",
                        now=now, deps=deps)
        return
    decisions = bounce_decisions(reports, recipients=send.recipients)
    for report in decisions.delayed:
        await _note(send, f"delivery to {report.recipient} delayed: {report.status} {report.diagnostic}", now=now,
                    deps=deps)
    if decisions.failed:
        await _record_bounces(send, decisions.failed, deps=deps)
    elif not decisions.delayed:
        log.warning("bounce for send %s names none of its recipients: ignored", send.send_id)


async def receive_unsubscribe(mail: Incoming, send_id: str, *, deps: Inbound) -> None:
    """A recipient of an automatic email asks for no more: automatic emails stop for that address."""
    send = await resolve_send(send_id, deps=deps)
    sender = _sender(mail)
    now = deps.clock.now()
    address = next((recipient for recipient in send.recipients if recipient.lower() == sender), None)
    if address is None:
        log.warning("unsubscribe from %s, who did not receive send %s: ignored", sender, send.send_id)
        await _note(send, f"unsubscribe request from {sender}, not a recipient: ignored", now=now, deps=deps)
        return

    async def work(tx: MailerTx) -> None:
        await suppress(tx.suppressions, send.tenant_id, address, reason="unsubscribed by email", at=now,
                       source=SuppressionSource.UNSUBSCRIBE, scope=SuppressionScope.AUTOMATIC, send_id=send.send_id)
        await tx.sends.note(send, f"{address} unsubscribed from automatic emails", now=now)

    await deps.uow.run(work, flow=_flow_of(send))


# -- internals --------------------------------------------------------------------------------------

def _sender(mail: Incoming) -> str:
    sender = author(mail.message, mail.envelope_sender)
    try:
        return _EMAIL.validate_python(sender)
    except ValidationError:
        raise MailRefused(550, "5.1.7", "the sender's address is not valid") from None


async def _record_bounces(send: Send, failed: list[tuple[str, DeliveryReport]], *, deps: Inbound) -> None:
    now = deps.clock.now()

    async def work(tx: MailerTx) -> list[str]:
        current = await tx.sends.by_id(send.send_id)
        assert current is not None
        already = {address.lower() for address in current.bounced}
        fresh = [(address, report) for address, report in failed if address.lower() not in already]
        # Reports first: staging touches the outbox's per-client counters, which the relay also writes.
        await tx.publisher.delivery_reports([
            (current, Report((address,), Failure(kind=FailureKind.PERMANENT, reason=report.reason,
                                                 smtp_code=report.smtp_code)))
            for address, report in fresh
        ], at=now)
        missed = dict(current.missed)
        for address, report in fresh:
            missed[address] = report.reason
            everyone = {recipient.lower() for recipient in current.recipients} <= {key.lower() for key in missed}
            failure = bounce_failure(report, missed) if everyone else None
            await tx.sends.bounced(current, address, missed=missed, failure=failure, now=now,
                                   note=f"{address} {report.reason}")
            if report.hard:
                await suppress(tx.suppressions, current.tenant_id, address, reason=report.reason, at=now,
                               source=SuppressionSource.BOUNCE, send_id=current.send_id)
        return [address for address, _ in fresh]

    recorded = await deps.uow.run(work, flow=_flow_of(send))
    if recorded:
        log.info("send %s bounced for %s", send.send_id, ", ".join(recorded))


async def _auto_reply_to_send(mail: Incoming, send: Send, *, deps: Inbound) -> None:
    """An out-of-office sent to the envelope sender (RFC 3834 says to): read like a reply when the
    email was about an action and the answer comes from one of its recipients."""
    sender = _sender(mail)
    now = deps.clock.now()
    recipient = any(address.lower() == sender for address in send.recipients)
    if not recipient or send.action_id is None or send.purpose is EmailPurpose.DUNNING_REMINDER:
        await _note(send, f"auto-reply from {sender}: noted", now=now, deps=deps)
        return
    await _publish(mail, deps=deps, tenant_id=send.tenant_id, scope=f"send:{send.send_id}", sender=sender, auto=True,
                   text=reply_text(mail.message), files=[], refused=[], client_id=send.client_id,
                   action_id=send.action_id, link_id=None, correlation_id=send.correlation_id,
                   causation_id=send.event_id)


async def _publish(mail: Incoming, *, deps: Inbound, tenant_id: str, scope: str, sender: str, auto: bool,
                   text: str, files: list[ReplyFile], refused: list[RefusedFile], client_id: str, action_id: str,
                   link_id: str | None, correlation_id: str, causation_id: str | None) -> None:
    """Store the files, then record the reply and stage its event in one transaction (once per mail)."""
    rid = reply_id(tenant_id, scope, mail.message, mail.raw)
    if await deps.uow.reading().records.seen(rid):
        log.info("reply %s already received: an MTA's retry, nothing to do", rid)
        return
    now = deps.clock.now()
    refs = [await _store(rid, index, file, tenant_id=tenant_id, deps=deps) for index, file in enumerate(files, 1)]
    if refused:
        notes = "\n".join(f"[{file.filename}: not kept, {file.reason}]" for file in refused)
        text = f"{text}\n\n{notes}".strip()
    day = _return_day(mail, text, now.date()) if auto else None
    reply = ReplyReceived(reply_id=rid, client_id=client_id, action_id=action_id, from_email=sender,
                          kind=ReplyKind.AUTO_REPLY if auto else ReplyKind.REPLY, text=text, attachments=refs,
                          return_date=day, received_at=now, link_id=link_id)
    flow = Flow(tenant_id, correlation_id, causation_id)

    async def work(tx: MailerTx) -> None:
        event_id = await tx.publisher.reply_received(reply, flow=flow)
        await tx.records.add(InboundRecord(
            reply_id=rid, tenant_id=tenant_id, kind=reply.kind.value, link_id=link_id, client_id=client_id,
            action_id=action_id, from_email=sender, message_id=str(mail.message.get("Message-ID", "")),
            received_at=now, files=[ref.attachment_id for ref in refs], refused=[vars(file) for file in refused],
            return_date=day, event_id=event_id,
        ))

    try:
        await deps.uow.run(work, flow=flow)
    except AlreadyReceived:
        log.info("reply %s recorded by a concurrent delivery of the same mail", rid)
        return
    log.info("%s %s from %s for action %s", reply.kind.value, rid, sender, action_id)


async def _store(rid: str, index: int, file: ReplyFile, *, tenant_id: str, deps: Inbound) -> AttachmentRef:
    file_id = f"{rid}-{index}"
    now = deps.clock.now()
    await deps.files.store(file_id, tenant_id=tenant_id, filename=file.filename, content_type=file.content_type,
                           content=file.content, now=now)
    assert deps.keys is not None
    claim = Claim(tenant_id, file_id, now + deps.claim_ttl)
    url = f"{deps.public_base_url.rstrip('/')}/inbound/files/{sign_claim(claim, deps.keys)}"
    return AttachmentRef(attachment_id=file_id, filename=file.filename, content_type=file.content_type,
                         size=len(file.content), url=url)


def _return_day(mail: Incoming, text: str, received: date) -> date | None:
    return return_date(f"{mail.message.get('Subject', '')}\n{text}", received=received)


async def _note(send: Send, note: str, *, now: datetime, deps: Inbound) -> None:
    """A history line on the send, in a unit of work of its own."""
    await deps.uow.run(lambda tx: tx.sends.note(send, note, now=now), flow=_flow_of(send))


def _flow_of(send: Send) -> Flow:
    """What a mail about a send writes belongs to that send's request."""
    return Flow(send.tenant_id, send.correlation_id, send.event_id)
