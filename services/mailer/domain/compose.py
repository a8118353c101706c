"""Building the MIME message of a send with the standard `email` package (pure: no I/O).

multipart/alternative (text, then HTML), inside multipart/mixed when there are attachments;
headers from the ledger row (deterministic Message-ID), the tenant's sender identity and the
request. Every header value passes through `one_line`, and addresses through `formataddr`, so no
field of a request can add a header (the generator refuses an embedded header as a last guard).

The classic `email.mime` classes (compat32 policy) are used rather than `EmailMessage`: the same
RFC 5322/2045 output at a fifth of the cost, which matters in a burst of thousands of emails.
"""

import email.policy
import os.path
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import encoders
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr

from pydantic import BaseModel, ConfigDict, Field

from services.mailer.domain.sends import Addressees, Send, one_line
from shared.contracts.email import AttachmentRef, EmailPurpose
from shared.contracts.values import EmailAddress
from shared.templating import RenderedEmail


class SenderIdentity(BaseModel):
    """Who an email comes from, for one tenant (or the default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    from_address: EmailAddress
    from_name: str | None = Field(None, description="Display name; the company name of the request when unset")
    reply_to: EmailAddress | None = Field(None, description="Where replies go unless the request names someone")


class _WirePolicy(email.policy.Compat32):
    """compat32 that keeps a plain ASCII header on one line (RFC 5322 allows 998 characters)
    instead of folding a long address right after its colon; encoded (non-ASCII) values, and
    anything holding a line break, still take the standard path."""

    def _fold(self, name: str, value: object, sanitize: bool) -> str:
        if (isinstance(value, str) and value.isascii() and "\r" not in value and "\n" not in value
                and len(name) + len(value) + 2 <= 998):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


POLICY = _WirePolicy(linesep="\r\n")  # CRLF on the wire
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP  # readable, 7-bit safe bodies for any relay


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
) -> Message:
    # Boundaries of our own: "=_" never occurs in quoted-printable or base64 content, and the
    # generator would otherwise compile a fresh regex per message to check a random one.
    body = MIMEMultipart("alternative", boundary=f"=_arf_{send.send_id}_alt",
                         _subparts=[MIMEText(rendered.text, "plain", UTF8_QP), MIMEText(rendered.html, "html", UTF8_QP)])
    message: Message = body
    if attachments:
        message = MIMEMultipart("mixed", boundary=f"=_arf_{send.send_id}_mix",
                                _subparts=[body, *(_attachment(item) for item in attachments)])
    message["From"] = _address(headers.identity.from_address, headers.identity.from_name or headers.company_name)
    reply_to = headers.reply_to or headers.identity.reply_to
    if reply_to:
        message["Reply-To"] = _address(reply_to)
    message["To"] = ", ".join(_address(r.email, r.name) for r in addressees.to)
    if addressees.cc:
        message["Cc"] = ", ".join(_address(r.email, r.name) for r in addressees.cc)
    message["Subject"] = _text_header(one_line(rendered.subject))
    message["Date"] = format_datetime(headers.date)
    message["Message-ID"] = send.message_id
    message["Content-Language"] = one_line(rendered.language, 35)
    if send.automatic:
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to an automatic reminder loop
    if headers.unsubscribe:
        message["List-Unsubscribe"] = f"<mailto:{headers.unsubscribe}?subject=unsubscribe>"
    return message


def as_bytes(message: Message) -> bytes:
    return message.as_bytes(policy=POLICY)


def _attachment(item: FetchedAttachment) -> MIMEBase:
    maintype, _, subtype = item.ref.content_type.partition("/")
    maintype, subtype = one_line(maintype).lower(), one_line(subtype).split(";")[0].strip().lower()
    if not subtype or not (maintype + subtype).replace("-", "").replace(".", "").replace("+", "").isalnum():
        maintype, subtype = "application", "octet-stream"
    part = MIMEBase(maintype, subtype)
    part.set_payload(item.content)
    encoders.encode_base64(part)
    name = safe_filename(item.ref.filename)
    part.add_header("Content-Disposition", "attachment", filename=name if name.isascii() else ("utf-8", "", name))
    return part


def _text_header(text: str) -> str | Header:
    return text if text.isascii() else Header(text, "utf-8")


def safe_filename(filename: str) -> str:
    """The last path component on one line; a name that is only a path becomes `attachment`."""
    name = os.path.basename(one_line(filename).replace("\\", "/"))
    return name.lstrip(".") or "attachment"


def _address(address: str, name: str | None = None) -> str:
    return formataddr((one_line(name or "", 200), address), charset="utf-8")
