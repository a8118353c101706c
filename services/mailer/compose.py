"""Building the MIME message of a send with the standard `email` package (pure: no I/O).

multipart/alternative (text, then HTML), inside multipart/mixed when there are attachments;
headers from the ledger row (deterministic Message-ID), the tenant's sender identity and the
request. Every header value passes through `one_line` and `Address`, so no field of a request
can add a header.
"""

import email.policy
import os.path
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from services.mailer.config import SenderIdentity
from services.mailer.domain import Addressees, Send, one_line
from shared.contracts.email import AttachmentRef, EmailPurpose
from shared.contracts.values import EmailAddress, Recipient
from shared.templating import RenderedEmail

POLICY = email.policy.SMTP  # CRLF line ends; non-ASCII headers encoded (RFC 2047)


@dataclass(frozen=True)
class FetchedAttachment:
    ref: AttachmentRef
    content: bytes


@dataclass(frozen=True)
class Headers:
    """What the message says about itself beyond its recipients and content."""

    identity: SenderIdentity
    company_name: str
    reply_to: EmailAddress | None
    date: datetime
    unsubscribe: str | None  # a mailto address, when List-Unsubscribe applies


def wants_list_unsubscribe(*, purpose: EmailPurpose, automatic: bool) -> bool:
    """Automatic emails to clients (reminders, scheduled actions) can be unsubscribed from; a
    colleague's interactive email or a collector's personal email cannot."""
    return automatic and purpose is not EmailPurpose.INTERNAL_INTERACTIVE


def compose_message(
    send: Send,
    *,
    rendered: RenderedEmail,
    addressees: Addressees,
    headers: Headers,
    attachments: Sequence[FetchedAttachment] = (),
) -> EmailMessage:
    message = EmailMessage(policy=POLICY)
    message["From"] = _address(headers.identity.from_address, headers.identity.from_name or headers.company_name)
    reply_to = headers.reply_to or headers.identity.reply_to
    if reply_to:
        message["Reply-To"] = _address(reply_to)
    message["To"] = [_address(r.email, r.name) for r in addressees.to]
    if addressees.cc:
        message["Cc"] = [_address(r.email, r.name) for r in addressees.cc]
    message["Subject"] = one_line(rendered.subject)
    message["Date"] = format_datetime(headers.date)
    message["Message-ID"] = send.message_id
    if send.automatic:
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to an automatic reminder loop
    if headers.unsubscribe:
        message["List-Unsubscribe"] = f"<mailto:{headers.unsubscribe}?subject=unsubscribe>"
    message.set_content(rendered.text, cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    message["Content-Language"] = rendered.language  # after the parts: they would take Content-* headers along
    for attachment in attachments:
        maintype, _, subtype = attachment.ref.content_type.partition("/")
        if not subtype or not maintype.isascii():
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(attachment.content, maintype=maintype.strip(), subtype=subtype.strip(),
                               filename=safe_filename(attachment.ref.filename))
    return message


def as_bytes(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=POLICY)


def safe_filename(filename: str) -> str:
    """The last path component on one line; a name that is only a path becomes `attachment`."""
    name = os.path.basename(one_line(filename).replace("\\", "/"))
    return name.lstrip(".") or "attachment"


def _address(address: str, name: str | None = None) -> Address:
    username, _, domain = address.rpartition("@")
    return Address(display_name=one_line(name or "", 200), username=username, domain=domain)


def recipient_list(recipients: Sequence[Recipient]) -> list[str]:
    return [recipient.email for recipient in recipients]
