"""The inbound SMTP listener (aiosmtpd): SMTP in, run by `workers/inbound.py`.

RCPT takes only the inbound domain's `reply+<token>`, `bounces+<send id>` and `unsubscribe+<send id>`
addresses, and checks them there (a forged or expired reply token, an unknown send: 550 with the
reason, so the sender's MTA tells its user, and nothing is read). DATA is limited in size (552 past
it), parsed, and handed to the handler of each recipient; the reply is 250 when every recipient
took the mail, the refusal when none did, and 451 when anything failed for a reason that may pass
(MongoDB away): the MTA tries again, and what was already recorded is not recorded twice. A mail
that cannot be made sense of (a parsing error) is refused with 554: the same bytes would fail again.
"""

import asyncio
import email
import email.policy
import logging
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from pymongo.errors import PyMongoError

from services.mailer.adapters.metrics import MailerMetrics
from services.mailer.config import InboundSettings, MailerSettings
from services.mailer.domain.inbound.addresses import AddressKind, inbound_address
from services.mailer.domain.inbound.mail import Incoming, MailRefused, ReplyTarget
from services.mailer.handlers.inbound import (
    Inbound,
    receive_bounce,
    receive_reply,
    receive_unsubscribe,
    resolve_reply,
    resolve_send,
)

log = logging.getLogger(__name__)

ACCEPTED = "250 2.0.0 OK"
TRY_LATER = "451 4.3.0 Temporary failure; try again later"
UNPROCESSABLE = "554 5.6.0 This message could not be processed"


@dataclass(frozen=True)
class Recipient:
    """A recipient checked at RCPT, and what its address stands for."""

    address: str
    kind: AddressKind
    target: ReplyTarget | str  # the reply's token and route, or the send id


class InboundHandler:
    """aiosmtpd's handler: the hooks it calls per SMTP command."""

    def __init__(self, *, deps: Inbound, settings: MailerSettings, metrics: MailerMetrics) -> None:
        self.deps = deps
        self.metrics = metrics
        self.domain = settings.mail_inbound_domain
        self.max_recipients = settings.mail_inbound_max_recipients

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        recipients = _recipients(envelope)
        if len(recipients) >= self.max_recipients:
            return "452 4.5.3 Too many recipients"
        parsed = inbound_address(address, self.domain)
        if parsed is None:
            self._refused("unknown", address, "550 5.1.1 no such address here")
            return "550 5.1.1 No such address here"
        try:
            target: ReplyTarget | str = (await resolve_reply(parsed.value, deps=self.deps)
                                         if parsed.kind is AddressKind.REPLY
                                         else (await resolve_send(parsed.value, deps=self.deps)).send_id)
        except MailRefused as refusal:
            self._refused(parsed.kind.value, address, str(refusal))
            return str(refusal)
        except (PyMongoError, OSError, TimeoutError):
            log.exception("cannot check inbound recipient %s; asking the sender to try later", address)
            return TRY_LATER
        except Exception:
            log.exception("cannot check inbound recipient %s: refused", address)
            return UNPROCESSABLE
        recipients.append(Recipient(address, parsed.kind, target))
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = bytes(envelope.original_content or b"")
        try:
            message = email.message_from_bytes(raw, policy=email.policy.default)
        except Exception:
            log.exception("an inbound mail could not be parsed: refused")
            return UNPROCESSABLE
        assert isinstance(message, EmailMessage)
        mail = Incoming(message=message, raw=raw, envelope_sender=envelope.mail_from or "")
        answers = [await self._deliver(mail, recipient) for recipient in _recipients(envelope)]
        retry = [answer for answer in answers if answer.startswith("4")]
        if retry:
            return retry[0]
        if answers and ACCEPTED not in answers:
            return answers[0]
        return ACCEPTED

    async def _deliver(self, mail: Incoming, recipient: Recipient) -> str:
        try:
            if isinstance(recipient.target, ReplyTarget):
                await receive_reply(mail, recipient.target, deps=self.deps)
            elif recipient.kind is AddressKind.BOUNCE:
                await receive_bounce(mail, recipient.target, deps=self.deps)
            else:
                await receive_unsubscribe(mail, recipient.target, deps=self.deps)
        except MailRefused as refusal:
            self._refused(recipient.kind.value, recipient.address, str(refusal), sender=mail.envelope_sender,
                          deferred=refusal.temporary)
            return str(refusal)
        except (PyMongoError, OSError, TimeoutError):
            log.exception("cannot take the mail to %s now; the sender will try again", recipient.address)
            self.metrics.inbound.labels(kind=recipient.kind.value, outcome="deferred").inc()
            return TRY_LATER
        except Exception:  # a mail we cannot make sense of: retrying the same bytes would not help
            log.exception("cannot process the mail to %s: refused", recipient.address)
            self._refused(recipient.kind.value, recipient.address, UNPROCESSABLE, sender=mail.envelope_sender)
            return UNPROCESSABLE
        self.metrics.inbound.labels(kind=recipient.kind.value, outcome="accepted").inc()
        return ACCEPTED

    def _refused(self, kind: str, address: str, reason: str, *, sender: str | None = None,
                 deferred: bool = False) -> None:
        """The bounce reason, in the log: what an operator reads when someone says their reply vanished."""
        self.metrics.inbound.labels(kind=kind, outcome="deferred" if deferred else "refused").inc()
        log.warning("inbound mail to %s %s: %s", address, "deferred" if deferred else "refused", reason,
                    extra={"fields": {"inbound_kind": kind, "inbound_reason": reason, "envelope_sender": sender}})


def _recipients(envelope: Envelope) -> list[Recipient]:
    """The checked recipients of this transaction (aiosmtpd gives each MAIL a fresh envelope)."""
    if not hasattr(envelope, "arf_recipients"):
        envelope.arf_recipients = []  # type: ignore[attr-defined]
    return envelope.arf_recipients  # type: ignore[attr-defined]


async def start_listener(handler: InboundHandler, settings: InboundSettings, domain: str) -> asyncio.Server:
    """Serve SMTP on the configured interface and port (STARTTLS offered when a certificate is set)."""
    options: dict[str, Any] = {}
    if settings.mail_inbound_tls_cert_file and settings.mail_inbound_tls_key_file:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(settings.mail_inbound_tls_cert_file, settings.mail_inbound_tls_key_file)
        options["tls_context"] = context
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname=settings.mail_inbound_hostname or domain,
                     data_size_limit=settings.mail_inbound_max_bytes, enable_SMTPUTF8=True, decode_data=False,
                     timeout=settings.mail_inbound_timeout_s, ident="ARF mailer", **options),
        host=settings.mail_inbound_host, port=settings.mail_inbound_port,
    )
    log.info("inbound SMTP listener on %s:%d for %s", settings.mail_inbound_host, settings.mail_inbound_port, domain)
    return server
