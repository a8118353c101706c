"""Claim checks for the files of replies: a URL that names one stored file of one tenant until an
expiry, HMAC-signed with the tenant's link key (shared.links: rotation by key id, tenant-scoped), in
its own signing domain so a claim check is never a valid link or reply token and the other way round.
Pure: no I/O."""

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.links import LinkKeys, LinkRejected, RejectionReason

CLAIM_VERSION = "c1"
_DOMAIN = b"arf-claim-check\x1f"


@dataclass(frozen=True)
class Claim:
    tenant_id: str
    file_id: str
    expires_at: datetime


def sign_claim(claim: Claim, keys: LinkKeys) -> str:
    payload = _b64(json.dumps([claim.tenant_id, claim.file_id, int(claim.expires_at.timestamp())],
                              separators=(",", ":")).encode())
    signed = f"{CLAIM_VERSION}.{keys.signing_key_id}.{payload}"
    return f"{signed}.{_b64(_mac(keys, keys.signing_key_id, claim.tenant_id, signed))}"


def verify_claim(token: str, keys: LinkKeys, *, now: datetime) -> Claim:
    """The claim a token carries, or LinkRejected (malformed, unknown key, forged, expired)."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != CLAIM_VERSION:
        raise LinkRejected(RejectionReason.MALFORMED)
    _, key_id, payload, mac = parts
    try:
        tenant_id, file_id, expires = json.loads(_unb64(payload))
        claim = Claim(str(tenant_id), str(file_id), datetime.fromtimestamp(int(expires), UTC))
        given = _unb64(mac)
    except (ValueError, TypeError):
        raise LinkRejected(RejectionReason.MALFORMED) from None
    if not hmac.compare_digest(_mac(keys, key_id, claim.tenant_id, ".".join(parts[:3])), given):
        raise LinkRejected(RejectionReason.FORGED)
    if claim.expires_at <= now:
        raise LinkRejected(RejectionReason.EXPIRED)
    return claim


def _mac(keys: LinkKeys, key_id: str, tenant_id: str, signed: str) -> bytes:
    return hmac.new(keys.tenant_key(key_id, tenant_id), _DOMAIN + signed.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
