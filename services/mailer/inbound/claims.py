"""Claim checks for the files of replies: a URL that names one stored file of one tenant until an
expiry, HMAC-signed with the tenant's link key (shared.signing: rotation by key id, tenant-scoped), in
its own signing domain so a claim check is never a valid link or reply token and the other way round.
Pure: no I/O."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.links import LinkKeys, LinkRejected
from shared.signing import RejectionReason, Signer, b64, refuse_expired, unb64

CLAIM_VERSION = "c1"
_DOMAIN = b"arf-claim-check\x1f"


@dataclass(frozen=True)
class Claim:
    tenant_id: str
    file_id: str
    expires_at: datetime


def sign_claim(claim: Claim, keys: LinkKeys) -> str:
    payload = b64(json.dumps([claim.tenant_id, claim.file_id, int(claim.expires_at.timestamp())],
                             separators=(",", ":")).encode())
    signed = f"{CLAIM_VERSION}.{keys.signing_key_id}.{payload}"
    return f"{signed}.{b64(Signer(keys).mac(claim.tenant_id, _DOMAIN + signed.encode()))}"


def verify_claim(token: str, keys: LinkKeys, *, now: datetime) -> Claim:
    """The claim a token carries, or LinkRejected (malformed, unknown key, forged, expired)."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != CLAIM_VERSION:
        raise LinkRejected(RejectionReason.MALFORMED)
    _, key_id, payload, mac = parts
    try:
        tenant_id, file_id, expires = json.loads(unb64(payload))
        claim = Claim(str(tenant_id), str(file_id), datetime.fromtimestamp(int(expires), UTC))
        given = unb64(mac)
    except (ValueError, TypeError):
        raise LinkRejected(RejectionReason.MALFORMED) from None
    Signer(keys).check(claim.tenant_id, _DOMAIN + ".".join(parts[:3]).encode(), given, key_id=key_id)
    refuse_expired(claim.expires_at, now)
    return claim

