"""The document types follow-ups accepts and the mailer takes from replies, with the leading bytes
that prove a file is what it claims (one list, so a reply's file is never refused by follow-ups)."""

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (ZIP,),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (ZIP,),
    "application/msword": (OLE,),
    "application/vnd.ms-excel": (OLE,),
    "application/vnd.ms-outlook": (OLE,),
}
# Types without a signature: checked as text instead.
TEXT_TYPES = frozenset({"text/plain", "text/csv", "message/rfc822"})
