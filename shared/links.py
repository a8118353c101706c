"""Signed links and reply addresses for internal interactive emails (on `shared.signing`).

A link grants one recipient a set of operations on one action (or a selection of items) until it
expires. Its URL carries a short opaque token (the link's id and a MAC under the tenant's key); the
grant itself stays with the service that issued it, which also checks revocation (closed action,
revoked recipient). Links of the first format, which carried the whole grant, verify until they expire.

The reply address carries a compact, case-insensitive token (mail systems may lower-case local parts):
`reply+<token>@<inbound domain>`.
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.signing import (
    KeyRing,
    RejectionReason,
    Signer,
    TokenRejected,
    b32,
    b64,
    refuse_expired,
    unb32,
    unb64,
    unseal,
)

# Names the services used before signing was shared (`shared.signing`); the same classes.
LinkKeys = KeyRing
LinkRejected = TokenRejected

LINK_VERSION = "l1"  # the first links: the whole grant, readable; honoured until they expire
REPLY_VERSION = "r1"
_SHORT_LINK = b"arf-short-link"
_LINK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


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


def sign_link(grant: LinkGrant, keys: KeyRing) -> str:
    """A short opaque token for the link's URL (`<key id>.<link id>.<mac>`, about 40 characters): the scope
    stays with the service that issued it, so the URL tells whoever sees it nothing about the grant."""
    mac = Signer(keys, _SHORT_LINK, size=16).mac(grant.tenant_id, grant.link_id)
    return f"{keys.signing_key_id}.{grant.link_id}.{b64(mac)}"


@dataclass(frozen=True)
class ShortLink:
    """A short link token as read from a URL, not yet verified: its issuer finds the link's tenant by
    `link_id`, then `verify_short_link` proves the token was signed for that tenant and link."""

    key_id: str
    link_id: str
    mac: bytes


def read_short_link(token: str) -> ShortLink:
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isalnum() or not _LINK_ID.fullmatch(parts[1]):
        raise TokenRejected(RejectionReason.MALFORMED)
    try:
        return ShortLink(parts[0], parts[1], unb64(parts[2]))
    except ValueError:
        raise TokenRejected(RejectionReason.MALFORMED) from None


def verify_short_link(link: ShortLink, keys: KeyRing, *, tenant_id: str) -> None:
    Signer(keys, _SHORT_LINK, size=16).check(tenant_id, link.link_id, link.mac, key_id=link.key_id)


def is_full_link(token: str) -> bool:
    """A token of the first format, which carried the whole grant: still honoured until it expires."""
    return token.startswith(f"{LINK_VERSION}.")


def verify_link(token: str, keys: KeyRing, *, now: datetime) -> LinkGrant:
    """The grant a first-format token carries, or TokenRejected: malformed, unknown key, forged, expired."""
    return unseal(token, LINK_VERSION, Signer(keys), LinkGrant.model_validate_json,
                  tenant_of=lambda grant: grant.tenant_id, expires_of=lambda grant: grant.expires_at, now=now)


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


def reply_token(grant: LinkGrant, keys: KeyRing) -> str:
    """A lower-case token for `reply+<token>@domain`, bound to the grant's link and recipient."""
    fields = [grant.tenant_id, grant.link_id, recipient_digest(grant.recipient),
              "f" if grant.forwarding_allowed else "", str(int(grant.expires_at.timestamp()))]
    signed = f"{REPLY_VERSION}-{keys.signing_key_id.lower()}-{b32('|'.join(fields).encode())}"
    return f"{signed}-{b32(Signer(keys, size=10).mac(grant.tenant_id, signed))}"


def verify_reply_token(token: str, keys: KeyRing, *, now: datetime) -> ReplyToken:
    parts = token.lower().split("-")
    if len(parts) != 4 or parts[0] != REPLY_VERSION:
        raise TokenRejected(RejectionReason.MALFORMED)
    _, key_id, payload, mac = parts
    key_id = keys.key_id_ignoring_case(key_id)
    try:
        tenant_id, link_id, digest, forwarding, expires = unb32(payload).decode().split("|")
        parsed = ReplyToken(tenant_id=tenant_id, link_id=link_id, recipient_digest=digest,
                            forwarding_allowed=forwarding == "f", expires_at=datetime.fromtimestamp(int(expires), UTC))
        given_mac = unb32(mac)
    except (ValueError, ValidationError):
        raise TokenRejected(RejectionReason.MALFORMED) from None
    Signer(keys, size=10).check(tenant_id, f"{REPLY_VERSION}-{key_id.lower()}-{payload}", given_mac, key_id=key_id)
    refuse_expired(parsed.expires_at, now)
    return parsed


class LinkSettings(BaseSettings):
    """The link keys, shared by the services that sign and verify links (followups, mailer)."""

    model_config = SettingsConfigDict(env_prefix="ARF_", extra="ignore", frozen=True)

    link_keys: SecretStr | None = Field(
        None, description="Link master keys `kid:<base64 32+ bytes>,…`; the last signs unless ARF_LINK_SIGNING_KEY_ID"
    )
    link_signing_key_id: str | None = Field(None, description="Which key id signs new links (rotation)")

    def link_key_ring(self) -> KeyRing:
        if self.link_keys is None:
            raise ValueError("ARF_LINK_KEYS is not set: internal interactive emails need link keys")
        return KeyRing.parse(self.link_keys.get_secret_value(), signing_key_id=self.link_signing_key_id)


def new_link_key_setting(key_id: str = "k1") -> str:
    """A fresh `ARF_LINK_KEYS` value (for `make up` and tests)."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"
