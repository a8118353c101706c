"""One persistent SMTP connection to the relay (aiosmtplib), and what one transaction came to.

The transaction is run command by command so its outcome is exact: a refusal (4xx/5xx) at any
step means nothing was delivered; a connection lost before DATA means nothing was delivered;
a connection lost (or a timeout) during DATA means it may have been (RFC 5321 §6.1): unknown.
"""

import socket
import time
from collections.abc import Sequence

import aiosmtplib
from aiosmtplib import SMTPResponseException

from services.mailer.config import SmtpSettings
from services.mailer.domain.sends import Outcome, Verdict, verdict_for_code

STARTTLS = {"auto": None, "always": True, "never": False}


class SmtpConnection:
    """One connection to the relay: the SMTP transport of a sender lane."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.smtp: aiosmtplib.SMTP | None = None
        self.sent = 0  # messages on this connection, to cap them
        self.last_used = 0.0
        self.in_data = False  # between DATA and its reply: a lost connection now is an unknown outcome

    @property
    def connected(self) -> bool:
        return self.smtp is not None and self.smtp.is_connected

    @property
    def worn_out(self) -> bool:
        return self.sent >= self.settings.smtp_max_messages_per_connection

    async def open(self) -> None:
        """Connect, EHLO, STARTTLS and AUTH as configured; raises on any failure."""
        self.close()
        settings = self.settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        smtp = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_implicit_tls,
            start_tls=False if settings.smtp_implicit_tls else STARTTLS[settings.smtp_starttls],
            validate_certs=settings.smtp_validate_certs,
            username=settings.smtp_username,
            password=password if settings.smtp_username else None,
            local_hostname=settings.smtp_local_hostname or socket.gethostname(),
            timeout=settings.smtp_timeout_s,
        )
        await smtp.connect()
        self.smtp, self.sent, self.last_used = smtp, 0, time.monotonic()

    async def usable(self) -> bool:
        """Connected, and a connection idle for a while still answers a NOOP."""
        if not self.connected or self.smtp is None:
            return False
        if time.monotonic() - self.last_used > self.settings.smtp_idle_check_s:
            try:
                await self.smtp.noop()
            except (SMTPResponseException, OSError):
                self.close()
                return False
            self.last_used = time.monotonic()
        return True

    async def transact(self, sender: str, recipients: Sequence[str], data: bytes) -> Outcome:
        """MAIL, RCPT for each recipient, DATA: the outcome, never an exception for SMTP trouble."""
        smtp = self.smtp
        if smtp is None:
            return Outcome(Verdict.TEMPORARY, "not connected to the relay", counts_as_attempt=False)
        self.last_used = time.monotonic()
        utf8 = not all(address.isascii() for address in (sender, *recipients))
        if utf8 and not smtp.supports_extension("smtputf8"):
            return Outcome(Verdict.PERMANENT, "an address is not ASCII and the relay does not offer SMTPUTF8")
        options, encoding = (["SMTPUTF8"], "utf-8") if utf8 else ([], "ascii")
        try:
            await smtp.mail(sender, options=options, encoding=encoding)
        except SMTPResponseException as exc:
            return _refused("the relay refused the sender", exc)
        except OSError as exc:
            return Outcome(Verdict.TEMPORARY, f"connection lost before the message was sent: {_text(exc)}")
        accepted: list[str] = []
        refused: dict[str, str] = {}
        codes: list[int] = []
        for recipient in recipients:
            try:
                await smtp.rcpt(recipient, encoding=encoding)
                accepted.append(recipient)
            except SMTPResponseException as exc:
                refused[recipient] = f"{exc.code} {exc.message}"
                codes.append(exc.code)
            except OSError as exc:
                return Outcome(Verdict.TEMPORARY, f"connection lost before the message was sent: {_text(exc)}")
        temporary = [code for code in codes if verdict_for_code(code) is Verdict.TEMPORARY]
        if temporary:  # try the whole message again later rather than split it between recipients
            return Outcome(Verdict.TEMPORARY, "a recipient was refused for now: " + "; ".join(refused.values()),
                           smtp_code=temporary[0], refused=refused)
        if not accepted:
            return Outcome(Verdict.PERMANENT, "every recipient was refused: " + "; ".join(refused.values()),
                           smtp_code=codes[0], refused=refused)
        self.in_data = True
        try:
            response = await smtp.data(data)
        except SMTPResponseException as exc:
            return _refused("the relay refused the message", exc)
        except OSError as exc:
            return Outcome(Verdict.UNKNOWN, f"connection lost during DATA, delivery unknown: {_text(exc)}")
        finally:
            self.in_data = False
        self.sent += 1
        return Outcome(Verdict.DELIVERED, f"{response.code} {response.message}", smtp_code=response.code,
                       accepted=tuple(accepted), refused=refused)

    async def quit(self) -> None:
        if self.connected and self.smtp is not None:
            try:
                await self.smtp.quit()
            except (SMTPResponseException, OSError):
                pass
        self.close()

    def close(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
        self.smtp = None


def _refused(what: str, exc: SMTPResponseException) -> Outcome:
    verdict = verdict_for_code(exc.code)
    return Outcome(verdict, f"{what}: {exc.code} {exc.message}", smtp_code=exc.code)


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
