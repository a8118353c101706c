"""Signed tokens, once: tenant-scoped keys that rotate by id, one MAC per purpose, compact encodings.

Every token the system hands out (an interactive link, a reply address, a form's CSRF token, a download
or claim-check URL) is a thin use of this module. A tenant's key is derived from a master key, so a
token of tenant A never verifies as tenant B; master keys rotate by id (the newest signs, every known
id still verifies until its tokens expire); a purpose derives a key of its own, so a token made for
one use never verifies for another.
"""

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class RejectionReason(StrEnum):
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    FORGED = "forged"
    EXPIRED = "expired"


class TokenRejected(Exception):
    """The token is not valid; `reason` says why, for the page and the log (never which byte was wrong)."""

    def __init__(self, reason: RejectionReason) -> None:
        self.reason = reason
        super().__init__(f"link rejected: {reason.value}")


class KeyRing:
    """Master keys by id; tokens are signed with `signing_key_id`, verified with any known id."""

    def __init__(self, keys: dict[str, bytes], *, signing_key_id: str) -> None:
        if signing_key_id not in keys:
            raise ValueError(f"the signing key id {signing_key_id!r} is not among the keys")
        if any(len(secret) < 32 for secret in keys.values()):
            raise ValueError("every link key must be at least 32 bytes")
        if any(not kid.isalnum() for kid in keys):
            raise ValueError("key ids must be letters and digits")
        self._keys = dict(keys)
        self.signing_key_id = signing_key_id

    @classmethod
    def parse(cls, value: str, *, signing_key_id: str | None = None) -> "KeyRing":
        """From a setting `kid1:<base64 secret>,kid2:<base64 secret>`; the last one signs by default."""
        keys = {}
        for part in filter(None, (chunk.strip() for chunk in value.split(","))):
            kid, _, secret = part.partition(":")
            keys[kid] = base64.b64decode(secret)
        if not keys:
            raise ValueError("no link keys given")
        return cls(keys, signing_key_id=signing_key_id or list(keys)[-1])

    def key_id_ignoring_case(self, key_id: str) -> str:
        """The known id spelled `key_id` in any case (mail systems may lower-case a reply address)."""
        return next((kid for kid in self._keys if kid.lower() == key_id.lower()), key_id)

    def tenant_key(self, key_id: str, tenant_id: str) -> bytes:
        master = self._keys.get(key_id)
        if master is None:
            raise TokenRejected(RejectionReason.UNKNOWN_KEY)
        return hmac.new(master, f"arf-link-key:{tenant_id}".encode(), hashlib.sha256).digest()


class Signer:
    """MACs of one purpose: HMAC-SHA256 under the tenant's key, or under a key derived from it for the
    purpose (`purpose=None` is the tenant key itself, which the first link and reply tokens used)."""

    def __init__(self, keys: KeyRing, purpose: bytes | None = None, *, size: int = 32) -> None:
        self.keys, self.purpose, self.size = keys, purpose, size

    @property
    def signing_key_id(self) -> str:
        return self.keys.signing_key_id

    def mac(self, tenant_id: str, message: str | bytes, *, key_id: str | None = None) -> bytes:
        key = self.keys.tenant_key(key_id or self.keys.signing_key_id, tenant_id)
        if self.purpose is not None:
            key = hmac.new(key, self.purpose, hashlib.sha256).digest()
        data = message.encode() if isinstance(message, str) else message
        return hmac.new(key, data, hashlib.sha256).digest()[:self.size]

    def check(self, tenant_id: str, message: str | bytes, given: bytes, *, key_id: str) -> None:
        """Nothing when `given` is the MAC of `message`; TokenRejected (unknown key, forged) otherwise."""
        if not hmac.compare_digest(self.mac(tenant_id, message, key_id=key_id), given):
            raise TokenRejected(RejectionReason.FORGED)


def seal(signer: Signer, version: str, tenant_id: str, payload: bytes, *, domain: bytes = b"") -> str:
    """`<version>.<key id>.<payload>.<mac>`: a token that carries its payload (for a service that keeps no
    record of it, e.g. a download URL); `domain` is prefixed to what the MAC covers."""
    signed = f"{version}.{signer.signing_key_id}.{b64(payload)}"
    return f"{signed}.{b64(signer.mac(tenant_id, domain + signed.encode()))}"


def unseal(token: str, version: str, signer: Signer, read: Callable[[bytes], T], *, tenant_of: Callable[[T], str],
           expires_of: Callable[[T], datetime], now: datetime, domain: bytes = b"") -> T:
    """The payload of a `seal`ed token as `read` parses it, or TokenRejected: malformed (including a
    payload `read` refuses with ValueError), unknown key, forged, expired."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != version:
        raise TokenRejected(RejectionReason.MALFORMED)
    _, key_id, payload, mac = parts
    try:
        value, given = read(unb64(payload)), unb64(mac)
    except (ValueError, TypeError):  # pydantic's ValidationError is a ValueError
        raise TokenRejected(RejectionReason.MALFORMED) from None
    signer.check(tenant_of(value), domain + ".".join(parts[:3]).encode(), given, key_id=key_id)
    refuse_expired(expires_of(value), now)
    return value


def refuse_expired(expires_at: datetime, now: datetime) -> None:
    if expires_at <= now:
        raise TokenRejected(RejectionReason.EXPIRED)


def b64(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """The bytes of `b64`; ValueError when `text` is not such an encoding (no character is skipped)."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def b32(data: bytes) -> str:
    """Lower-case base32 without padding: survives a mail system that changes the case of an address."""
    return base64.b32encode(data).rstrip(b"=").decode().lower()


def unb32(text: str) -> bytes:
    return base64.b32decode(text.upper() + "=" * (-len(text) % 8))
