"""Development bearer tokens: a local RSA key pair, and tokens signed with it (never for production)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEV_ISSUER = "arf-dev"
DEV_AUDIENCE = "ar-followups"


def ensure_key_pair(folder: Path) -> tuple[Path, Path]:
    """Create `private.pem` and `public.pem` in `folder` unless they exist; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / "private.pem", folder / "public.pem"
    if not private_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_path.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
        )
        private_path.chmod(0o600)
        public_path.write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    return private_path, public_path


def mint_token(
    private_key_pem: str,
    *,
    tenant_id: str,
    user_id: str,
    role: str,
    email: str | None = None,
    name: str | None = None,
    ttl: timedelta = timedelta(days=30),
    issuer: str = DEV_ISSUER,
    audience: str = DEV_AUDIENCE,
) -> str:
    now = datetime.now(UTC)
    claims = {
        "iss": issuer, "aud": audience, "sub": user_id, "tenant_id": tenant_id, "role": role,
        "iat": now, "exp": now + ttl,
    }
    if email:
        claims["email"] = email
    if name:
        claims["name"] = name
    return jwt.encode(claims, private_key_pem, algorithm="RS256")
