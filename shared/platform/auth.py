"""Bearer-token authentication for every HTTP API: JWTs checked against the configured issuer keys.

The token carries the tenant and the role; the tenant is never taken from a URL or a body.
In production the keys come from the OIDC provider's JWKS; locally from a PEM file `make up` writes.
"""

import asyncio
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request, status
from pydantic import ValidationError

from shared.identity import Principal, Role
from shared.platform.errors import ConfigError
from shared.platform.settings import AuthSettings

ALGORITHMS = ["RS256", "ES256"]


class TokenVerifier:
    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._static_key: Any = None
        self._jwks: jwt.PyJWKClient | None = None
        if settings.auth_public_key_file:
            try:
                self._static_key = settings.auth_public_key_file.read_text()
            except OSError as exc:
                raise ConfigError(f"ARF_AUTH_PUBLIC_KEY_FILE: cannot read {settings.auth_public_key_file}: {exc}") from None
        elif settings.auth_jwks_url:
            self._jwks = jwt.PyJWKClient(settings.auth_jwks_url, cache_keys=True, lifespan=3600)

    async def verify(self, token: str) -> Principal:
        key = await self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.settings.auth_audience,
                issuer=self.settings.auth_issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
            return Principal(
                tenant_id=claims["tenant_id"],
                user_id=claims["sub"],
                role=claims["role"],
                email=claims.get("email"),
                name=claims.get("name"),
            )
        except (jwt.PyJWTError, KeyError, ValidationError) as exc:
            raise _unauthorized(f"invalid token: {_reason(exc)}") from None

    async def _key_for(self, token: str) -> Any:
        if self._static_key is not None:
            return self._static_key
        if self._jwks is None:
            raise _unauthorized("no token issuer is configured (ARF_AUTH_JWKS_URL or ARF_AUTH_PUBLIC_KEY_FILE)")
        try:
            signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"invalid token: {exc}") from None
        return signing_key.key


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing claim {exc.args[0]!r}"
    if isinstance(exc, ValidationError):
        return "claims do not name a tenant and a known role"
    return str(exc)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(token.strip())


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: Role) -> Any:
    """FastAPI dependency factory: the caller must hold one of `roles` (admin always may)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role is not Role.ADMIN and principal.role not in roles:
            allowed = ", ".join(sorted(role.value for role in roles))
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"this needs the role {allowed}")
        return principal

    return Depends(check)
