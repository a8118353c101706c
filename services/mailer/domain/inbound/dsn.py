"""Delivery-status notifications (bounces): what they say about which recipient. Pure: no I/O.

Standard ones (RFC 3464: `multipart/report; report-type=delivery-status`, also RFC 6533's
`message/global-delivery-status`) are read field by field: per recipient `Final-Recipient`,
`Original-Recipient`, `Action`, `Status`, `Diagnostic-Code`. Common non-standard ones (qmail,
older Exim/Postfix/Exchange plain-text bounces: from MAILER-DAEMON/postmaster, or with an
"Undelivered Mail"/"Mail delivery failed"/"Undeliverable"/"Non remis" subject) are read from their text: a
recipient of the send named in it, the first enhanced status code (`5.1.1`) or SMTP code (`550`)
near it, and the line that holds it as the diagnostic.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message

from services.mailer.domain.sends import Failure
from services.mailer.domain.inbound.text import part_text
from shared.contracts.email import FailureKind

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"(?<![\d.])([245]\d\d)(?=[\s\-])")
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status notification|failure|has failed)|mail delivery failed|returned mail"
    r"|failure notice|delivery failure|non remis|non distribu|[ée]chec de (?:la )?(?:remise|distribution)"
    r"|message non d[ée]livr",
    re.IGNORECASE,
)
_DAEMON = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailer_daemon)@", re.IGNORECASE)
_DELAY = re.compile(r"delayed|will (?:be )?retr|still trying|temporar|retard|nouvel essai", re.IGNORECASE)
_ADDRESS = re.compile(r"[^\s<>\"';:,()\[\]]+@[^\s<>\"';:,()\[\]]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class DeliveryReport:
    """What a notification says about one recipient."""

    recipient: str
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # the enhanced status code, e.g. 5.1.1
    diagnostic: str = ""
    original_recipient: str | None = None

    @property
    def failed(self) -> bool:
        return self.action == "failed"

    @property
    def hard(self) -> bool:
        """A permanent failure (5.x.x): the address goes on the suppression list."""
        return self.failed and self.status.startswith("5.")

    @property
    def smtp_code(self) -> int | None:
        match = _SMTP_CODE.search(self.diagnostic + " ")
        return int(match.group(1)) if match else None

    @property
    def reason(self) -> str:
        return " ".join(f"bounced: {self.status} {self.diagnostic}".split())[:1000]


def delivery_reports(message: Message, *, recipients: Sequence[str]) -> list[DeliveryReport] | None:
    """The reports a bounce carries, or None when the message is not a bounce at all.
    `recipients` (the send's) lets a plain-text bounce be matched to the address it is about."""
    standard = _standard_reports(message)
    if standard is not None:
        return standard
    if not _looks_like_bounce(message):
        return None
    return _reports_from_text(_all_text(message), recipients)


def _standard_reports(message: Message) -> list[DeliveryReport] | None:
    if message.get_content_type() != "multipart/report":
        return None
    for part in message.walk():
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            return [report for block in _blocks(part) if (report := _report(block)) is not None]
    return None


def _blocks(part: Message) -> list[dict[str, str]]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [{name.lower(): " ".join(str(value).split()) for name, value in block.items()} for block in payload]
    blocks: list[dict[str, str]] = [{}]
    name = ""
    for line in part_text(part).replace("\r\n", "\n").split("\n"):
        if not line.strip():
            blocks.append({})
        elif line[0] in " \t" and name:
            blocks[-1][name] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            blocks[-1][name] = value.strip()
    return [block for block in blocks if block]


def _report(block: dict[str, str]) -> DeliveryReport | None:
    recipient = _address_of(block.get("final-recipient", ""))
    action = block.get("action", "").strip().lower()
    if not recipient or not action:
        return None  # the per-message block (Reporting-MTA…), not a recipient
    status = block.get("status", "").strip()
    diagnostic = re.sub(r"^\s*(?:smtp|x-[\w-]+)\s*;\s*", "", block.get("diagnostic-code", ""), flags=re.IGNORECASE)
    match = _STATUS.search(status)
    if match is None:
        status = "5.0.0" if action == "failed" else "4.0.0"
    return DeliveryReport(recipient=recipient, action=action, status=match.group(0) if match else status,
                          diagnostic=diagnostic.strip()[:500],
                          original_recipient=_address_of(block.get("original-recipient", "")) or None)


def _address_of(field: str) -> str:
    """`rfc822; someone@example.com` → the address."""
    value = field.split(";", 1)[-1].strip().strip("<>").strip()
    return value.lower() if "@" in value else ""


def _looks_like_bounce(message: Message) -> bool:
    """From a mail system, or titled as a bounce (a null envelope sender alone is not enough: an
    out-of-office is sent with one too)."""
    address = _ADDRESS.search(str(message.get("From", "")))
    return bool(address and _DAEMON.match(address.group(0))) or bool(
        _BOUNCE_SUBJECT.search(str(message.get("Subject", ""))))


def _all_text(message: Message) -> str:
    texts = []
    for part in message.walk():
        if part.get_content_maintype() == "text" and part.get_content_disposition() != "attachment":
            texts.append(part_text(part))
        if part.get_content_type() == "message/rfc822":
            break  # the returned message follows: its text is not the bounce's
    return "\n".join(texts)


def _reports_from_text(text: str, recipients: Sequence[str]) -> list[DeliveryReport]:
    lowered = text.lower()
    reports = []
    for recipient in recipients:
        at = lowered.find(recipient.lower())
        if at < 0:
            continue
        status = _STATUS.search(text, at) or _STATUS.search(text)  # the first after the address, else any
        code = _SMTP_CODE.search(text, at) or _SMTP_CODE.search(text)
        if status is not None:
            status_text = status.group(0)
        elif code is not None:
            status_text = f"{code.group(1)[0]}.0.0"
        else:
            status_text = "4.0.0" if _DELAY.search(text) else "5.0.0"
        delayed = status_text.startswith("4.") and _DELAY.search(text) is not None
        evidence = status or code
        diagnostic = _line_around(text, evidence.start()) if evidence else ""
        reports.append(DeliveryReport(recipient=recipient.lower(), action="delayed" if delayed else "failed",
                                      status=status_text, diagnostic=diagnostic))
    return reports


def _line_around(text: str, index: int) -> str:
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return " ".join(text[start:end if end >= 0 else None].split())[:500]


@dataclass(frozen=True)
class BounceDecisions:
    failed: list[tuple[str, DeliveryReport]]  # the send's recipient (as the send spells it), and why
    delayed: list[DeliveryReport]


def bounce_decisions(reports: Sequence[DeliveryReport], *, recipients: Sequence[str]) -> BounceDecisions:
    """Which of the send's recipients failed (each once), and which deliveries are only delayed.
    A report names its recipient by original or final address; a send to one address takes a
    failure naming another (an alias that forwarded it) as that address's."""
    known = {address.lower(): address for address in recipients}
    failed: dict[str, DeliveryReport] = {}
    delayed = []
    for report in reports:
        address = known.get(report.original_recipient or "") or known.get(report.recipient.lower())
        if address is None and len(recipients) == 1 and len(reports) == 1:
            address = recipients[0]
        if address is None:
            continue
        if report.failed:
            failed.setdefault(address, report)
        elif report.action == "delayed":
            delayed.append(report)
    return BounceDecisions(failed=list(failed.items()), delayed=delayed)


def bounce_failure(report: DeliveryReport, missed: dict[str, str]) -> Failure:
    """The failure of a send none of whose recipients got it."""
    return Failure(kind=FailureKind.PERMANENT, reason=report.reason, smtp_code=report.smtp_code, refused=missed)
