"""Signed links and reply addresses for internal interactive emails.

A link grants one recipient a set of operations on one action (or a selection of items) until it
expires. It is signed with a tenant-scoped key derived from a master key: a token of tenant A never
verifies as tenant B, and master keys rotate by id (old ids keep verifying until their links expire).
Revocation (closed action, revoked recipient) is checked by the service that owns the action.

The reply address carries a compact, case-insensitive token (mail systems may lower-case local parts):
`reply+<token>@<inbound domain>`.
"""

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

LINK_VERSION = "l1"
REPLY_VERSION = "r1"


class LinkOperation(StrEnum):
    VIEW = "view"
    COMMENT = "comment"
    SET_STATUS = "set_status"
    UPLOAD = "upload"


class LinkGrant(BaseModel):
    """What a link lets its recipient do, and until when."""

    model_config = ConfigDict(frozen=True)

    link_id: str = Field(default_factory=lambda: secrets.token_hex(8))
    tenant_id: str = Field(min_length=1)
    action_id: str | None = None
    item_ids: tuple[str, ...] = ()
    recipient: str = Field(min_length=3)
    operations: frozenset[LinkOperation] = frozenset({LinkOperation.VIEW})
    statuses: tuple[str, ...] = ()
    forwarding_allowed: bool = False  # a reply from another address than the recipient's is accepted
    expires_at: AwareDatetime

    def allows(self, operation: LinkOperation) -> bool:
        return operation in self.operations


class RejectionReason(StrEnum):
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    FORGED = "forged"
    EXPIRED = "expired"


class LinkRejected(Exception):
    """The token is not a valid link (or reply token); `reason` says why, for the page and the log."""

    def __init__(self, reason: RejectionReason) -> None:
        self.reason = reason
        super().__init__(f"link rejected: {reason.value}")


class LinkKeys:
    """Master keys by id; links are signed with `signing_key_id`, verified with any known id."""

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
    def parse(cls, value: str, *, signing_key_id: str | None = None) -> "LinkKeys":
        """From a setting `kid1:<base64 secret>,kid2:<base64 secret>`; the last one signs by default."""
        keys = {}
        for part in filter(None, (chunk.strip() for chunk in value.split(","))):
            kid, _, secret = part.partition(":")
            keys[kid] = base64.b64decode(secret)
        if not keys:
            raise ValueError("no link keys given")
        return cls(keys, signing_key_id=signing_key_id or list(keys)[-1])

    def key_id_ignoring_case(self, key_id: str) -> str:
        return next((kid for kid in self._keys if kid.lower() == key_id.lower()), key_id)

    def tenant_key(self, key_id: str, tenant_id: str) -> bytes:
        master = self._keys.get(key_id)
        if master is None:
            raise LinkRejected(RejectionReason.UNKNOWN_KEY)
        return hmac.new(master, f"arf-link-key:{tenant_id}".encode(), hashlib.sha256).digest()


def sign_link(grant: LinkGrant, keys: LinkKeys) -> str:
    payload = _b64(json.dumps(grant.model_dump(mode="json"), separators=(",", ":"), sort_keys=True).encode())
    signed = f"{LINK_VERSION}.{keys.signing_key_id}.{payload}"
    mac = hmac.new(keys.tenant_key(keys.signing_key_id, grant.tenant_id), signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{_b64(mac)}"


def verify_link(token: str, keys: LinkKeys, *, now: datetime) -> LinkGrant:
    """The grant a token carries, or LinkRejected: malformed, unknown key, forged (any change), expired."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != LINK_VERSION:
        raise LinkRejected(RejectionReason.MALFORMED)
    _, key_id, payload, mac = parts
    try:
        grant = LinkGrant.model_validate_json(_unb64(payload))
        given_mac = _unb64(mac)
    except (ValidationError, ValueError):
        raise LinkRejected(RejectionReason.MALFORMED) from None
    expected = hmac.new(keys.tenant_key(key_id, grant.tenant_id), f"{LINK_VERSION}.{key_id}.{payload}".encode(),
                        hashlib.sha256).digest()
    if not hmac.compare_digest(expected, given_mac):
        raise LinkRejected(RejectionReason.FORGED)
    if grant.expires_at <= now:
        raise LinkRejected(RejectionReason.EXPIRED)
    return grant


class ReplyToken(BaseModel):
    """What a reply address proves: which link it answers, for which recipient, until when."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    link_id: str
    recipient_digest: str
    forwarding_allowed: bool = False
    expires_at: AwareDatetime

    def sent_by(self, address: str) -> bool:
        return hmac.compare_digest(self.recipient_digest, recipient_digest(address))

    def accepts_sender(self, address: str) -> bool:
        """The recipient may answer; anyone may when the tenant allows forwarding."""
        return self.forwarding_allowed or self.sent_by(address)


def recipient_digest(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:12]


def reply_token(grant: LinkGrant, keys: LinkKeys) -> str:
    """A lower-case token for `reply+<token>@domain`, bound to the grant's link and recipient."""
    fields = [grant.tenant_id, grant.link_id, recipient_digest(grant.recipient),
              "f" if grant.forwarding_allowed else "", str(int(grant.expires_at.timestamp()))]
    payload = _b32("|".join(fields).encode())
    signed = f"{REPLY_VERSION}-{keys.signing_key_id.lower()}-{payload}"
    mac = hmac.new(keys.tenant_key(keys.signing_key_id, grant.tenant_id), signed.encode(), hashlib.sha256).digest()
    return f"{signed}-{_b32(mac[:10])}"


def verify_reply_token(token: str, keys: LinkKeys, *, now: datetime) -> ReplyToken:
    parts = token.lower().split("-")
    if len(parts) != 4 or parts[0] != REPLY_VERSION:
        raise LinkRejected(RejectionReason.MALFORMED)
    _, key_id, payload, mac = parts
    key_id = keys.key_id_ignoring_case(key_id)
    try:
        tenant_id, link_id, digest, forwarding, expires = _unb32(payload).decode().split("|")
        parsed = ReplyToken(tenant_id=tenant_id, link_id=link_id, recipient_digest=digest,
                            forwarding_allowed=forwarding == "f", expires_at=datetime.fromtimestamp(int(expires), UTC))
        given_mac = _unb32(mac)
    except (ValueError, ValidationError):
        raise LinkRejected(RejectionReason.MALFORMED) from None
    signed = f"{REPLY_VERSION}-{key_id.lower()}-{payload}"
    expected = hmac.new(keys.tenant_key(key_id, tenant_id), signed.encode(), hashlib.sha256).digest()[:10]
    if not hmac.compare_digest(expected, given_mac):
        raise LinkRejected(RejectionReason.FORGED)
    if parsed.expires_at <= now:
        raise LinkRejected(RejectionReason.EXPIRED)
    return parsed


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b32(data: bytes) -> str:
    return base64.b32encode(data).rstrip(b"=").decode().lower()


def _unb32(text: str) -> bytes:
    return base64.b32decode(text.upper() + "=" * (-len(text) % 8))


class LinkSettings(BaseSettings):
    """The link keys, shared by the services that sign and verify links (followups, mailer)."""

    model_config = SettingsConfigDict(env_prefix="ARF_", extra="ignore", frozen=True)

    link_keys: SecretStr | None = Field(
        None, description="Link master keys `kid:<base64 32+ bytes>,…`; the last signs unless ARF_LINK_SIGNING_KEY_ID"
    )
    link_signing_key_id: str | None = Field(None, description="Which key id signs new links (rotation)")

    def link_key_ring(self) -> LinkKeys:
        if self.link_keys is None:
            raise ValueError("ARF_LINK_KEYS is not set: internal interactive emails need link keys")
        return LinkKeys.parse(self.link_keys.get_secret_value(), signing_key_id=self.link_signing_key_id)


def new_link_key_setting(key_id: str = "k1") -> str:
    """A fresh `ARF_LINK_KEYS` value (for `make up` and tests)."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"
