"""Links in the first format (the whole grant in the token), as emails sent before short links carry
them: the services must keep honouring them until they expire."""

import json

from shared.links import LINK_VERSION, LinkGrant
from shared.signing import KeyRing, Signer, b64


def full_link(grant: LinkGrant, keys: KeyRing) -> str:
    payload = b64(json.dumps(grant.model_dump(mode="json"), separators=(",", ":"), sort_keys=True).encode())
    signed = f"{LINK_VERSION}.{keys.signing_key_id}.{payload}"
    return f"{signed}.{b64(Signer(keys).mac(grant.tenant_id, signed))}"
