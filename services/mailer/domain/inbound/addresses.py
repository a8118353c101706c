"""Who an inbound mail is for, who sent it, and the ids derived from it. Pure: no I/O.

The inbound domain takes three kinds of local part, case-insensitively (mail systems may change
case): `reply+<reply token>` (a colleague answers an internal interactive email),
`bounces+<send id>` (VERP: a bounce, or an auto-reply sent to the envelope sender) and
`unsubscribe+<send id>` (List-Unsubscribe). Anything else is refused at RCPT.
"""

import hashlib
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses
from enum import StrEnum

from services.mailer.domain.sends import send_id_from_address


class AddressKind(StrEnum):
    REPLY = "reply"
    BOUNCE = "bounce"
    UNSUBSCRIBE = "unsubscribe"


@dataclass(frozen=True)
class InboundAddress:
    kind: AddressKind
    value: str  # the reply token, or the send id


_LOCAL = re.compile(r"^(reply|bounces|unsubscribe)\+([A-Za-z0-9\-]{1,300})@([^@\s]+)$", re.IGNORECASE)
_KINDS = {"reply": AddressKind.REPLY, "bounces": AddressKind.BOUNCE, "unsubscribe": AddressKind.UNSUBSCRIBE}


def inbound_address(address: str, domain: str) -> InboundAddress | None:
    """What a recipient address of the inbound domain stands for, or None (not ours)."""
    match = _LOCAL.match(address.strip().strip("<>"))
    if match is None or match.group(3).lower() != domain.lower():
        return None
    kind = _KINDS[match.group(1).lower()]
    if kind is AddressKind.REPLY:
        return InboundAddress(kind, match.group(2).lower())
    send_id = send_id_from_address(address, domain)
    return InboundAddress(kind, send_id) if send_id else None


def reply_address_token(address: str | None, domain: str) -> str | None:
    """The token of a `reply+<token>@<inbound domain>` address (an email's Reply-To), else None."""
    parsed = inbound_address(address, domain) if address else None
    return parsed.value if parsed and parsed.kind is AddressKind.REPLY else None


def token_key(token: str) -> str:
    """Where a reply token's route is stored: a digest, so the database holds no usable token."""
    return hashlib.sha256(token.strip().lower().encode()).hexdigest()[:32]


def author(message: Message, envelope_sender: str) -> str:
    """The address a mail comes from: its From header, else the envelope sender; lower case."""
    found = [address for _, address in getaddresses([str(value) for value in message.get_all("From", [])])
             if "@" in address]
    return (found[0] if found else envelope_sender.strip("<>")).strip().lower()


def reply_id(tenant_id: str, scope: str, message: Message, raw: bytes) -> str:
    """The same mail (an MTA's retry) always gets the same id: from its Message-ID, else its bytes."""
    message_id = str(message.get("Message-ID", "")).strip()
    origin = message_id or hashlib.sha256(raw).hexdigest()
    return hashlib.sha256(f"{tenant_id}\x1f{scope}\x1f{origin}".encode()).hexdigest()[:32]
