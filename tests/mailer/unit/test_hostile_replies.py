"""Hostile replies to the inbound listener, on fakes through its SMTP hooks: malformed MIME and attachments
with hostile names are answered (kept under a safe name, or refused with an SMTP reply), never a crash, and a
mail is recorded at most once. The size limit (552) is aiosmtpd's and is tested on the real listener
(`integration/test_inbound.py`)."""

import base64
from email.message import EmailMessage

import pytest

from services.mailer.domain.inbound.attachments import safe_filename
from tests.mailer.mails import PDF, reply
from tests.mailer.unit.conftest import OfflineMailer
from tests.mailer.unit.test_inbound import ACCEPTED, OK, SALES, interactive_email

UNPROCESSABLE = "554 5.6.0 This message could not be processed"


def raw_reply(address: str, body: str) -> bytes:
    """A reply whose MIME is written by hand (what no library would produce)."""
    head = (f"From: {SALES}\r\nTo: {address}\r\nSubject: Re: Credit note\r\n"
            "Message-ID: <hostile.{n}@client.example>\r\nMIME-Version: 1.0\r\n")
    return (head.replace("{n}", str(abs(hash(body)))) + body).encode("utf-8", "surrogateescape")


def nested(depth: int) -> str:
    return ("".join(f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n' for n in range(depth))
            + "Content-Type: text/plain\r\n\r\nApproved.\r\n")


# case: (the MIME after the common headers, the answer to DATA, the reply's text as recorded or None: no event)
MALFORMED: dict[str, tuple[str, str, str | None]] = {
    "boundary never closed": (
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
        'Approved.\r\n--b\r\nContent-Type: application/pdf; name="x.pdf"\r\nContent-Transfer-Encoding: base64\r\n'
        "\r\nJVBERi0xLjcK", ACCEPTED, "Approved."),
    "multipart without a boundary": (  # nothing readable in it: accepted, and dropped as an empty reply
        "Content-Type: multipart/mixed\r\n\r\nApproved.\r\n", ACCEPTED, None),
    "broken base64": (
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
        "Approved.\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        'filename="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!*not base64*!!\r\n--b--\r\n',
        ACCEPTED, "Approved.\n\n[a.pdf: not kept, its content is not a application/pdf file]"),
    "unknown charset and undecodable encoded words": (
        "Content-Type: text/plain; charset=x-unknown-charset\r\nX-Note: =?utf-8?B?////?= =?bogus?Q?=ZZ?=\r\n"
        "\r\nApproved.\r\n", ACCEPTED, "Approved."),
    "binary junk where headers belong": (  # read as the body: its control characters are dropped
        "X-\x00\x01: \x7f\x85\r\nContent-Type: text/plain\r\n\r\nApproved.\r\n", ACCEPTED, None),
    "300 nested multiparts": (nested(300), ACCEPTED, "Approved.\n\n[attachment: not kept, empty]"),
    "3 000 nested multiparts (past the parser's recursion)": (nested(3000), UNPROCESSABLE, None),
    "no body at all": ("", ACCEPTED, None),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_mime_is_answered_and_recorded_at_most_once(mailer: OfflineMailer, case: str) -> None:
    number = list(MALFORMED).index(case)
    action = f"a-mime-{number}"
    address, _ = await interactive_email(mailer, 500 + number, action_id=action)
    body, answer, text = MALFORMED[case]
    mail = raw_reply(address, body)

    answers = [await mailer.smtp(mail, sender=SALES, recipients=[address]) for _ in range(2)]  # and the retry

    assert answers == [[OK, answer]] * 2
    events = mailer.fakes.replies(action)
    if case == "binary junk where headers belong":
        [event] = events
        assert not any(ord(char) < 9 or 0x7f <= ord(char) <= 0x9f for char in event.payload.text)
        assert event.payload.text.endswith("Approved.")
    else:
        assert [event.payload.text for event in events] == ([text] if text is not None else [])


HOSTILE_NAMES = [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"),  # RTL override: would show as "invoiceexe.pdf"
    ("\u2067credit\u2069 note\u200b.pdf", "credit note.pdf"),  # isolates and a zero-width space
    ("a\x00b.pdf", "a_b.pdf"),
    ("\u202e" * 50, "attachment"),
    ("n" * 5000 + ".pdf", "n" * 110 + ".pdf"),
    ("CON.pdf\r\nX-Injected: yes", "CON.pdf__X-Injected_ yes"),
]


@pytest.mark.parametrize(("given", "expected"), HOSTILE_NAMES)
def test_hostile_file_names_become_safe_ones(given: str, expected: str) -> None:
    assert safe_filename(given) == expected


async def test_files_with_hostile_names_are_kept_under_safe_names_and_served_with_them(
    mailer: OfflineMailer,
) -> None:
    address, _ = await interactive_email(mailer, 520, action_id="a-names")
    message: EmailMessage = reply(sender=SALES, to=address, files=[
        ("../../etc/passwd.pdf", "application/pdf", PDF), ("invoice\u202efdp.pdf", "application/pdf", PDF)])
    raw = message.as_bytes()
    # A name with a NUL byte and one of 5 000 characters, in RFC 2231 form, as a hostile client writes them.
    encoded = base64.b64encode(PDF).decode()
    extra = "".join(
        f'--{message.get_boundary()}\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; '
        f"filename*=utf-8''{name}\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n"
        for name in ("nul%00byte.pdf", "L" * 5000 + ".pdf"))
    closing = f"--{message.get_boundary()}--".encode()
    raw = raw.replace(closing, extra.encode() + closing)

    assert await mailer.smtp(raw, sender=SALES, recipients=[address]) == [OK, ACCEPTED]

    [event] = mailer.fakes.replies("a-names")
    names = [file.filename for file in event.payload.attachments]
    assert names == ["passwd.pdf", "invoicefdp.pdf", "nul_byte.pdf", "L" * 110 + ".pdf"]
    async with mailer.http() as http:
        for file in event.payload.attachments:
            fetched = await http.get(file.url.removeprefix(mailer.settings.public_base_url))
            assert fetched.status_code == 200 and fetched.content == PDF
            disposition = fetched.headers["content-disposition"]
            assert "/" not in disposition.split("filename*=")[0] and "\u202e" not in disposition
