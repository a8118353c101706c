"""Mails as colleagues' clients and remote MTAs write them (replies, out-of-office answers, bounces),
and a real SMTP client that delivers them to the inbound listener."""

import asyncio
import time
from datetime import datetime, timedelta, UTC
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from shared.links import LinkGrant, LinkKeys, LinkOperation, reply_token

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

QUOTED_REPLY = """Approved: please issue the credit note.

Paul

-- 
Paul Sales
Sales manager, Acme Industries

On Mon, 2 Mar 2026 at 10:00, Acme Industries <ar@acme.example> wrote:
> Please approve the credit note for invoice F-2026-001.
> Thanks
"""


def reply_address(grant: LinkGrant, keys: LinkKeys, domain: str) -> str:
    return f"reply+{reply_token(grant, keys)}@{domain}"


def grant(action_id: str, recipient: str, *, tenant_id: str = "acme", days: float = 7,
          forwarding_allowed: bool = False) -> LinkGrant:
    return LinkGrant(tenant_id=tenant_id, action_id=action_id, recipient=recipient,
                     operations=frozenset({LinkOperation.VIEW, LinkOperation.COMMENT}),
                     forwarding_allowed=forwarding_allowed, expires_at=datetime.now(UTC) + timedelta(days=days))


def reply(*, sender: str, to: str, text: str = QUOTED_REPLY, subject: str = "Re: Credit note to approve",
          html: str | None = None, files: list[tuple[str, str, bytes]] = (), headers: dict[str, str] | None = None,
          message_id: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="client.example")
    for name, value in (headers or {}).items():
        message[name] = value
    if html is not None and not text:
        message.set_content(html, subtype="html")
    else:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    for filename, content_type, content in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


def standard_bounce(*, to: str, recipient: str, status: str = "5.1.1",
                    diagnostic: str = "smtp; 550 5.1.1 <{r}>: Recipient address rejected: User unknown",
                    action: str = "failed") -> bytes:
    """An RFC 3464 delivery-status notification, as Postfix writes one."""
    return f"""From: MAILER-DAEMON@mx.client.example (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce.{recipient}@mx.client.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.client.example.
I'm sorry to have to inform you that your message could not be delivered.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.client.example
Arrival-Date: Mon,  2 Mar 2026 10:00:00 +0100

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mail.client.example
Diagnostic-Code: {diagnostic.format(r=recipient)}

--BOUNDARY
Content-Type: text/rfc822-headers

Subject: Relance
Message-ID: <original@inbound.acme.example>

--BOUNDARY--
""".replace("\n", "\r\n").encode()


async def deliver(message: EmailMessage | bytes, *, port: int, sender: str, recipients: list[str]
                  ) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
    """Send over SMTP to the listener (waiting, briefly, for it to listen: it starts with the service's workers)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10, start_tls=False) as client:
                if isinstance(message, bytes):  # sendmail: a bounce's null sender is allowed with raw bytes
                    return await client.sendmail(sender, recipients, message)
                return await client.send_message(message, sender=sender, recipients=recipients)
        except aiosmtplib.SMTPConnectError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def wait_listening(port: int, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
