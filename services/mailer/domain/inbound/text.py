"""What a person wrote in a reply: the plain-text part (or the HTML part made text), without the
quoted email below it and without the signature. Pure: no I/O.

Cut at the first of (English and French, the clients' usual ones):
- a reply header: `On <date>, <name> wrote:` / `Le <date>, <name> a écrit :` (also wrapped on two lines);
- an Outlook header block: `From: …` followed within four lines by `Sent:`/`Date:`/`To:` (`De :`,
  `Envoyé :`, `À :`), or a `-----Original Message-----` / `-----Message d'origine-----` line;
- a signature: the `-- ` line (RFC 3676), `Sent from my …` / `Envoyé de mon …`, `Get Outlook for …`;
and drop every line quoted with `>` (interleaved answers between them are kept).
"""

import re
from email.message import EmailMessage, Message
from html.parser import HTMLParser

MAX_TEXT = 20_000

_REPLY_HEADER = re.compile(
    r"^\s*(?:On\s.{1,300}\bwrote\s*:|Le\s.{1,300}\ba\s+[ée]crit\s*:|Am\s.{1,300}\bschrieb\s.{0,200}:)\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Message d['’]origine|Forwarded message|Message transf[ée]r[ée])\s*-*\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\**\s*(?:From|De)\s*\**\s*:\s*\**\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\**\s*(?:Sent|Date|To|Subject|Envoy[ée]|[ÀA]|Objet|Cc)\s*\**\s*:", re.IGNORECASE)
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:Sent from my\b|Sent from Outlook\b|Get Outlook for\b|Envoy[ée] (?:de|depuis) (?:mon|l['’]application)\b"
    r"|Obtenir Outlook pour\b|T[ée]l[ée]chargez Outlook\b)",
    re.IGNORECASE,
)


# Control characters but tab and line breaks (NUL among them): a comment shown to people never needs them.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def reply_text(message: Message) -> str:
    """The new text of a reply: its text/plain body, else its text/html body made text; stripped."""
    body = message.get_body(preferencelist=("plain", "html")) if isinstance(message, EmailMessage) else None
    if body is None:
        return ""
    content = part_text(body)
    if body.get_content_subtype() == "html":
        content = html_to_text(content)
    return strip_quoted(_CONTROLS.sub("", content))


def part_text(part: Message) -> str:
    """A text part's content as str, whatever charset it claims (undecodable bytes replaced)."""
    try:
        return str(part.get_content())  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, AttributeError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload or "")


def strip_quoted(text: str) -> str:
    """The text above the quoted email and the signature, without `>` lines, tidied."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _ends_the_reply(lines, index):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return _tidy(kept)[:MAX_TEXT]


def _ends_the_reply(lines: list[str], index: int) -> bool:
    line = lines[index]
    if line.rstrip() in ("--", "-- ") or line == "-- " or _MOBILE_SIGNATURE.match(line):
        return True
    if _ORIGINAL_MESSAGE.match(line) or _REPLY_HEADER.match(line):
        return True
    following = lines[index + 1] if index + 1 < len(lines) else ""
    if re.match(r"^\s*(?:On|Le|Am)\s", line, re.IGNORECASE) and _REPLY_HEADER.match(f"{line} {following}"):
        return True  # the header wrapped on two lines
    if re.match(r"^\s*_{10,}\s*$", line) and _HEADER_FROM.match(following):
        return True
    if _HEADER_FROM.match(line):
        return any(_HEADER_NEXT.match(candidate) for candidate in lines[index + 1:index + 5])
    return False


def _tidy(lines: list[str]) -> str:
    tidy: list[str] = []
    for line in lines:
        if line.strip() or (tidy and tidy[-1]):
            tidy.append(line if line.strip() else "")
    return "\n".join(tidy).strip()


# -- HTML to text -----------------------------------------------------------------------------------

_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "object", "iframe", "svg"})
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol",
    "p", "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
})
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre"})


class _TextOfHtml(HTMLParser):
    """Block elements end lines, `<br>` breaks them, `<blockquote>` quotes with `> `, markup is dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skipping = 0
        self.quoting = 0
        self.preformatted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.end_line(force=True)
        elif tag in _BLOCKS:
            self.end_line()
            if tag == "blockquote":
                self.quoting += 1
            elif tag == "pre":
                self.preformatted += 1
            elif tag == "li":
                self.current.append("- ")
        elif tag in ("td", "th") and self.current:
            self.current.append("  ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.end_line(force=True)
        elif tag in _BLOCKS:
            self.end_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.end_line()
            if tag == "blockquote":
                self.quoting = max(0, self.quoting - 1)
            elif tag == "pre":
                self.preformatted = max(0, self.preformatted - 1)
            if tag in _PARAGRAPHS:
                self.lines.append("")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self.current.append(data if self.preformatted else re.sub(r"\s+", " ", data))

    def end_line(self, *, force: bool = False) -> None:
        text = "".join(self.current)
        self.current = []
        if not self.preformatted:
            text = text.strip()
        if not text and not force:
            return
        for line in text.split("\n"):
            self.lines.append("> " * self.quoting + line if self.quoting else line)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body (entities decoded, scripts and styles dropped)."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    parser.end_line()
    return _tidy([line.replace("\xa0", " ").rstrip() for line in parser.lines])
