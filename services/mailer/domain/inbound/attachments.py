"""The files a reply carries: which are kept (type, size and count limits), under which safe name.
Pure: no I/O.

The type is decided by the content, not by what the sender's client declared: the declared type
(or, for `application/octet-stream`, the file name's extension) must be allowed and the first bytes
must match it (a PDF starts with `%PDF-`…). Inline images with a Content-ID (signature logos) are
not attachments. The same types as follow-ups accepts for documents, so the claim check it fetches
passes its own checks.
"""

import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from email.message import Message

from shared.document_types import SIGNATURES, TEXT_TYPES

DEFAULT_TYPES = (*SIGNATURES, *sorted(TEXT_TYPES))
_EXTENSIONS = {".msg": "application/vnd.ms-outlook", ".eml": "message/rfc822", ".csv": "text/csv"}
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*]")


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_count: int
    types: frozenset[str]


@dataclass(frozen=True)
class ReplyFile:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class RefusedFile:
    filename: str
    reason: str


def reply_files(message: Message, limits: Limits) -> tuple[list[ReplyFile], list[RefusedFile]]:
    """The files to keep, and those refused with why (in the order the reply carries them)."""
    kept: list[ReplyFile] = []
    refused: list[RefusedFile] = []
    for part in _attachment_parts(message):
        name = safe_filename(part.get_filename() or "", fallback=_fallback_name(part))
        content = part.get_payload(decode=True)
        if not isinstance(content, bytes):
            content = part.as_bytes() if part.get_content_type() == "message/rfc822" else b""
        try:
            if len(kept) >= limits.max_count:
                raise _Refused(f"more than {limits.max_count} files")
            kept.append(ReplyFile(name, checked_type(name, part.get_content_type(), content, limits), content))
        except _Refused as refusal:
            refused.append(RefusedFile(name, str(refusal)))
    return kept, refused


class _Refused(Exception):
    pass


def _attachment_parts(message: Message) -> list[Message]:
    if not message.is_multipart():
        return []
    parts = []
    for part in message.iter_attachments():  # type: ignore[attr-defined]
        if part.get_content_disposition() == "inline" and part.get("Content-ID") and part.get_content_maintype() == "image":
            continue  # a picture shown in the HTML body (a signature's logo), not a document
        parts.append(part)
    return parts


def checked_type(name: str, declared: str, content: bytes, limits: Limits) -> str:
    """The file's content type if it is accepted; else _Refused saying why."""
    if len(content) > limits.max_bytes:
        raise _Refused(f"larger than {limits.max_bytes} bytes")
    if not content:
        raise _Refused("empty")
    content_type = declared.lower()
    if content_type not in limits.types:  # e.g. application/octet-stream: the name's extension says
        by_name = _EXTENSIONS.get(_extension(name)) or mimetypes.guess_type(name, strict=False)[0] or ""
        content_type = by_name if by_name in limits.types else content_type
    if content_type not in limits.types:
        raise _Refused(f"{content_type or 'unknown'} files are not accepted")
    if content_type in TEXT_TYPES:
        if b"\x00" in content[:4096]:
            raise _Refused(f"declared {content_type} but holds binary data")
    elif not content.startswith(SIGNATURES.get(content_type, (b"",))):
        raise _Refused(f"its content is not a {content_type} file")
    return content_type


def safe_filename(filename: str, *, fallback: str = "attachment") -> str:
    """The last path segment, without control, invisible or reserved characters or leading dots, at most
    120 characters (keeping the extension); `fallback` when nothing is left."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").split("/")[-1]
    # Format characters go (bidi overrides and isolates, zero-width ones): `invoice<U+202E>fdp.exe` would
    # show as `invoiceexe.pdf`. Other control characters (C1 ones too) become `_`, like the reserved ones.
    name = "".join("" if unicodedata.category(char) == "Cf" else "_" if unicodedata.category(char) == "Cc"
                   else char for char in name)
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    if not name or set(name) <= {"_", " "}:
        return fallback
    if len(name) > 120:
        stem, dot, extension = name.rpartition(".")
        name = f"{stem[:110]}.{extension[:9]}" if dot and len(extension) <= 9 else name[:120]
    return name


def _extension(name: str) -> str:
    return ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""


def _fallback_name(part: Message) -> str:
    extension = mimetypes.guess_extension(part.get_content_type(), strict=False) or ""
    return f"attachment{extension}"
