"""An SMTP sink for local runs and tests: accepts every message, keeps it, and shows a mailbox page.

`python -m devstack.smtp_sink --smtp-port 2525 --http-port 8025 --maildir .data/mail`
The mailbox: `/` (HTML list), `/messages/<id>` (one message), `/api/messages` (JSON for tests).
`POST /api/fault` makes the next RCPT commands answer with a given SMTP reply (e.g. `451 try later`).

Tests can also script a misbehaving relay on the `Mailbox`: `recipient_faults` answers RCPT for
given addresses only, `drop_after_data` keeps a message for given recipients then cuts the
connection without answering (the sender cannot know it arrived), and `stop_smtp` is an outage:
the listener closes and every open session answers 421 to its next command, then hangs up.
"""

import argparse
import asyncio
import email
import email.policy
import itertools
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, PlainTextResponse
from jinja2 import Environment, select_autoescape
from pydantic import BaseModel

SINK_FROM = "X-Sink-Mail-From"
SINK_TO = "X-Sink-Rcpt-To"


@dataclass(frozen=True)
class StoredMail:
    id: str
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    tls: bool = False  # came over STARTTLS
    login: str | None = None  # the AUTH user, when the sink asked for one

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]

    def summary(self) -> dict[str, Any]:
        message = self.message
        return {
            "id": self.id,
            "mail_from": self.mail_from,
            "rcpt_tos": self.rcpt_tos,
            "subject": message.get("Subject", ""),
            "message_id": message.get("Message-ID", ""),
            "date": message.get("Date", ""),
            "size": len(self.raw),
        }


class Mailbox:
    """Received messages, in memory and (when given a folder) as .eml files that survive a restart."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.mails: list[StoredMail] = []
        self._counter = itertools.count(1)
        self.fault: str | None = None
        self.recipient_faults: dict[str, str] = {}  # address → RCPT reply, e.g. "550 5.1.1 no such user"
        self.drop_after_data: set[str] = set()  # a message to one of these is kept, then the connection is cut
        self.refusing = False  # the relay is going down: 421 to every command, then hang up
        if folder:
            folder.mkdir(parents=True, exist_ok=True)
            for path in sorted(folder.glob("*.eml")):
                self.mails.append(_load(path))

    def add(self, mail_from: str, rcpt_tos: list[str], data: bytes, *, tls: bool = False,
            login: str | None = None) -> StoredMail:
        mail_id = f"{time.time_ns()}-{next(self._counter)}"
        mail = StoredMail(mail_id, mail_from, list(rcpt_tos), data, tls, login)
        self.mails.append(mail)
        if self.folder:
            prefix = f"{SINK_FROM}: {mail_from}\r\n{SINK_TO}: {', '.join(rcpt_tos)}\r\n".encode()
            (self.folder / f"{mail_id}.eml").write_bytes(prefix + data)
        return mail

    def get(self, mail_id: str) -> StoredMail | None:
        return next((mail for mail in self.mails if mail.id == mail_id), None)

    def clear(self) -> None:
        self.mails.clear()
        if self.folder:
            for path in self.folder.glob("*.eml"):
                path.unlink()


def _load(path: Path) -> StoredMail:
    data = path.read_bytes()
    mail_from, rcpt, raw = "", [], data
    lines = data.split(b"\r\n", 2)
    if len(lines) == 3 and lines[0].startswith(SINK_FROM.encode()) and lines[1].startswith(SINK_TO.encode()):
        mail_from = lines[0].split(b": ", 1)[1].decode()
        rcpt = [addr for addr in lines[1].split(b": ", 1)[1].decode().split(", ") if addr]
        raw = lines[2]
    return StoredMail(path.stem, mail_from, rcpt, raw)


SHUTTING_DOWN = "421 4.3.2 Service shutting down, closing transmission channel"


class SinkHandler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        if self.mailbox.refusing:
            return _hang_up(server)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if self.mailbox.refusing:
            return _hang_up(server)
        if self.mailbox.fault:
            return self.mailbox.fault
        if address in self.mailbox.recipient_faults:
            return self.mailbox.recipient_faults[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.mailbox.refusing:
            return _hang_up(server)
        data = envelope.original_content or envelope.content or b""
        login = session.login_data.decode() if isinstance(session.login_data, bytes) else None
        self.mailbox.add(envelope.mail_from or "", list(envelope.rcpt_tos), bytes(data), tls=session.ssl is not None,
                         login=login)
        if self.mailbox.drop_after_data.intersection(envelope.rcpt_tos) and server.transport is not None:
            server.transport.abort()  # kept, but the client never hears so: RFC 5321 §6.1's lost reply
        return "250 Message accepted for delivery"


def _hang_up(server: SMTP) -> str:
    """Answer 421 and close once the answer is written, as a relay that is shutting down does."""
    transport = server.transport
    if transport is not None:
        asyncio.get_running_loop().call_soon(transport.close)
    return SHUTTING_DOWN


async def start_smtp(mailbox: Mailbox, *, host: str, port: int, tls_context: ssl.SSLContext | None = None,
                     credentials: tuple[str, str] | None = None) -> asyncio.Server:
    """Serve SMTP on the running loop (a real SMTP server, for tests and local runs). With a TLS
    context it offers (and requires) STARTTLS; with credentials it requires AUTH PLAIN/LOGIN."""
    loop = asyncio.get_running_loop()
    mailbox.refusing = False
    handler = SinkHandler(mailbox)
    options: dict[str, Any] = {}
    if tls_context is not None:
        options.update(tls_context=tls_context, require_starttls=True)
    if credentials is not None:
        def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                         auth_data: Any) -> AuthResult:
            given = None
            if isinstance(auth_data, LoginPassword):
                given = (auth_data.login.decode(), auth_data.password.decode())
            return AuthResult(success=given == credentials, handled=False, auth_data=auth_data)

        options.update(authenticator=authenticate, auth_required=True, auth_require_tls=tls_context is not None)
    return await loop.create_server(
        lambda: SMTP(handler, hostname="arf-sink", data_size_limit=50 * 1024 * 1024, decode_data=False, **options),
        host=host,
        port=port,
    )


async def stop_smtp(server: asyncio.Server, mailbox: Mailbox) -> None:
    """An outage: stop listening; open sessions answer 421 to their next command and hang up.
    `start_smtp(mailbox, ...)` on the same port brings the relay back."""
    mailbox.refusing = True
    server.close()
    await server.wait_closed()


_pages = Environment(autoescape=select_autoescape(default=True))
_LIST = _pages.from_string("""<!doctype html><html><head><meta charset="utf-8"><title>Mailbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2733}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #dde3ea;padding:.4rem;text-align:left}</style></head><body>
<h1>Mailbox <small>({{ mails|length }} messages)</small></h1>
<table><tr><th>Received</th><th>From</th><th>To</th><th>Subject</th></tr>
{% for m in mails %}<tr><td>{{ m.date }}</td><td>{{ m.mail_from }}</td><td>{{ m.rcpt_tos|join(', ') }}</td>
<td><a href="/messages/{{ m.id }}">{{ m.subject or '(no subject)' }}</a></td></tr>{% endfor %}
</table></body></html>""")
_ONE = _pages.from_string("""<!doctype html><html><head><meta charset="utf-8"><title>{{ subject }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2733}pre{white-space:pre-wrap}
iframe{width:100%;height:60vh;border:1px solid #dde3ea}</style></head><body>
<p><a href="/">← Mailbox</a> · <a href="/messages/{{ id }}.eml">raw</a></p>
<h1>{{ subject }}</h1><p>From {{ mail_from }} to {{ rcpt_tos|join(', ') }}</p>
{% if html %}<iframe sandbox srcdoc="{{ html }}"></iframe>{% endif %}
{% if text %}<h2>Text part</h2><pre>{{ text }}</pre>{% endif %}</body></html>""")


class Fault(BaseModel):
    reply: str | None = None


def mailbox_app(mailbox: Mailbox) -> FastAPI:
    app = FastAPI(title="SMTP sink mailbox", docs_url=None, redoc_url=None)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return _LIST.render(mails=[mail.summary() for mail in reversed(mailbox.mails)])

    @app.get("/messages/{mail_id}.eml", response_class=PlainTextResponse)
    async def raw(mail_id: str) -> str:
        return _found(mailbox, mail_id).raw.decode("utf-8", "replace")

    @app.get("/messages/{mail_id}", response_class=HTMLResponse)
    async def one(mail_id: str) -> str:
        mail = _found(mailbox, mail_id)
        message = mail.message
        html = message.get_body(("html",))
        text = message.get_body(("plain",))
        return _ONE.render(**mail.summary(), html=html.get_content() if html else None,
                           text=text.get_content() if text else None)

    @app.get("/api/messages")
    async def list_messages() -> list[dict[str, Any]]:
        return [mail.summary() for mail in mailbox.mails]

    @app.get("/api/messages/{mail_id}")
    async def get_message(mail_id: str) -> dict[str, Any]:
        mail = _found(mailbox, mail_id)
        return {**mail.summary(), "raw": mail.raw.decode("utf-8", "replace")}

    @app.delete("/api/messages", status_code=204)
    async def clear() -> None:
        mailbox.clear()

    @app.post("/api/fault")
    async def set_fault(fault: Fault) -> dict[str, str | None]:
        mailbox.fault = fault.reply
        return {"reply": mailbox.fault}

    return app


def _found(mailbox: Mailbox, mail_id: str) -> StoredMail:
    mail = mailbox.get(mail_id)
    if mail is None:
        raise HTTPException(404, f"no message {mail_id}")
    return mail


async def _main(args: argparse.Namespace) -> None:
    mailbox = Mailbox(Path(args.maildir))
    smtp = await start_smtp(mailbox, host=args.host, port=args.smtp_port)
    config = uvicorn.Config(mailbox_app(mailbox), host=args.host, port=args.http_port, log_level="warning")
    try:
        await uvicorn.Server(config).serve()
    finally:
        smtp.close()
        await smtp.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=2525)
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--maildir", default=".data/mail")
    asyncio.run(_main(parser.parse_args()))
