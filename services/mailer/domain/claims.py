"""Claim checks for the files of replies: a URL that names one stored file of one tenant until an
expiry, HMAC-signed with the tenant's link key (shared.signing: rotation by key id, tenant-scoped), in
its own signing domain so a claim check is never a valid link or reply token and the other way round.
Pure: no I/O."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.links import LinkKeys
from shared.signing import Signer, seal, unseal

CLAIM_VERSION = "c1"
_DOMAIN = b"arf-claim-check\x1f"


@dataclass(frozen=True)
class Claim:
    tenant_id: str
    file_id: str
    expires_at: datetime


def sign_claim(claim: Claim, keys: LinkKeys) -> str:
    payload = json.dumps([claim.tenant_id, claim.file_id, int(claim.expires_at.timestamp())], separators=(",", ":"))
    return seal(Signer(keys), CLAIM_VERSION, claim.tenant_id, payload.encode(), domain=_DOMAIN)


def verify_claim(token: str, keys: LinkKeys, *, now: datetime) -> Claim:
    """The claim a token carries, or LinkRejected (malformed, unknown key, forged, expired)."""
    return unseal(token, CLAIM_VERSION, Signer(keys), _read_claim, tenant_of=lambda claim: claim.tenant_id,
                  expires_of=lambda claim: claim.expires_at, now=now, domain=_DOMAIN)


def _read_claim(payload: bytes) -> Claim:
    tenant_id, file_id, expires = json.loads(payload)
    return Claim(str(tenant_id), str(file_id), datetime.fromtimestamp(int(expires), UTC))
