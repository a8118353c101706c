"""What the inbound side deals in: a mail received, the reply address it came to, the SMTP refusal it
may get, the routes of reply addresses and the records of replies received. Pure: no I/O."""

from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage

from pydantic import BaseModel, ConfigDict

from shared.links import ReplyToken


class MailRefused(Exception):
    """The SMTP reply that refuses a recipient or a message, with the reason it gives."""

    def __init__(self, code: int, status: str, text: str) -> None:
        self.code = code
        self.status = status
        self.text = text
        super().__init__(f"{code} {status} {text}")

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500


@dataclass(frozen=True)
class Incoming:
    """One mail as the listener received it."""

    message: EmailMessage
    raw: bytes
    envelope_sender: str


class ReplyRoute(BaseModel):
    """Where a reply to one internal interactive email belongs: the token names tenant and link,
    the route adds the client and action (and the flow) the email was about."""

    model_config = ConfigDict(frozen=True)

    key: str
    tenant_id: str
    client_id: str
    action_id: str | None
    send_id: str
    request_event_id: str
    correlation_id: str
    created_at: datetime


@dataclass(frozen=True)
class ReplyTarget:
    """A checked reply address: its token and its route."""

    token: ReplyToken
    route: ReplyRoute


@dataclass(frozen=True)
class InboundRecord:
    """One reply turned into an event (its id makes an MTA's retry a no-op)."""

    reply_id: str
    tenant_id: str
    kind: str
    link_id: str | None
    client_id: str
    action_id: str
    from_email: str
    message_id: str
    received_at: datetime
    files: list[str]
    refused: list[dict[str, str]]
    return_date: date | None
    event_id: str


@dataclass(frozen=True)
class StoredFile:
    """What is known of a stored file of a reply, before its bytes are read."""

    file_id: str
    filename: str
    content_type: str
    length: int
