"""Bearer JWTs: who the caller is, which roles they hold and which sites they act for.

Tokens are validated against a JWKS URL (production: the authority's OIDC provider) or a
PEM public key (local use and tests). ``DevTokenIssuer`` signs tokens for ``pss dev`` and
the tests; it is never wired into a service.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer


class Role(StrEnum):
    AUTHORITY_ADMIN = "authority_admin"
    SITE_COORDINATOR = "site_coordinator"
    PEER_SUPPORTER = "peer_supporter"
    OPS = "ops"
    # a unit manager or chief: may activate group support after a critical incident
    MANAGER = "manager"
    # EAP or occupational health staff: may refer a worker who consented
    OCCUPATIONAL_HEALTH = "occupational_health"
    # services calling each other (for example oncall asking matching for a fresh list)
    SERVICE = "service"


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    sites: frozenset[str] = field(default_factory=frozenset)
    staff_ref: str | None = None  # the directory reference of a supporter or coordinator

    def has(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))

    def acts_for(self, site_id: str) -> bool:
        """Authority admins act for every site; others only for the sites in their token."""
        return Role.AUTHORITY_ADMIN in self.roles or site_id in self.sites


class TokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        public_key_pem: str | None = None,
        jwks_url: str | None = None,
    ) -> None:
        if not public_key_pem and not jwks_url:
            raise ValueError("configure AUTH_PUBLIC_KEY_PEM or AUTH_JWKS_URL")
        self.issuer = issuer
        self.audience = audience
        self._key = public_key_pem
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None

    def verify(self, token: str) -> Principal:
        key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._key
        claims = jwt.decode(
            token,
            key=key,  # type: ignore[arg-type]
            algorithms=["RS256", "ES256"],
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
        roles = frozenset(Role(r) for r in claims.get("roles", []) if r in Role._value2member_map_)
        return Principal(
            subject=str(claims["sub"]),
            roles=roles,
            sites=frozenset(claims.get("sites", [])),
            staff_ref=claims.get("staff_ref"),
        )


_bearer = HTTPBearer(auto_error=False)


def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "sign in first: send an 'Authorization: Bearer <token>' header",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(credentials.credentials)
    except jwt.PyJWTError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"the token was not accepted ({exc}); sign in again",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None


def requires(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits a caller holding any of ``roles``."""

    async def dependency(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if not principal.has(*roles):
            wanted = ", ".join(sorted(r.value for r in roles))
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {wanted}")
        return principal

    return dependency


def ensure_site(principal: Principal, site_id: str) -> None:
    """For an id the caller sent in a body; one in the path is checked by ``requires_at_site``."""
    if not principal.acts_for(site_id):
        # 404, not 403: a coordinator of another site learns nothing about this one
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such record for the sites you act for")


def requires_at_site(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits a caller holding any of ``roles`` who acts for the route's
    ``site_id`` (its path or query names one)."""
    holds_role = requires(*roles)

    # a default, not an annotation: annotations are strings here and cannot name a local
    async def dependency(site_id: str, principal: Principal = Depends(holds_role)) -> Principal:
        ensure_site(principal, site_id)
        return principal

    return dependency


# Who may call a route, one meaning per name and the same in every service.
Admin = Annotated[Principal, Depends(requires(Role.AUTHORITY_ADMIN))]
Coordinator = Annotated[Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))]
# a coordinator of the site the route names (an authority admin acts for every site)
SiteCoordinator = Annotated[Principal, Depends(requires_at_site(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))]
PeerSupporter = Annotated[Principal, Depends(requires(Role.PEER_SUPPORTER))]
# who is on call and keeps their own availability and contact routes
OnCall = Annotated[Principal, Depends(requires(Role.PEER_SUPPORTER, Role.SITE_COORDINATOR))]
# anyone in the program: supporters, coordinators and the authority (whom a page can reach)
ProgramStaff = Annotated[
    Principal, Depends(requires(Role.PEER_SUPPORTER, Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))
]


class DevTokenIssuer:
    """Signs tokens with a local RSA key: for ``pss dev`` and tests only."""

    def __init__(self, private_key_pem: str, *, issuer: str = "pss-dev", audience: str = "pss") -> None:
        self._key = private_key_pem
        self.issuer = issuer
        self.audience = audience

    @classmethod
    def generate(cls, **kwargs: str) -> tuple[DevTokenIssuer, str]:
        """A new issuer and the PEM public key services must be given."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        return cls(private_pem, **kwargs), public_pem

    @property
    def private_key_pem(self) -> str:
        return self._key

    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK, for a JWKS endpoint (the development OIDC provider)."""
        import json

        private = serialization.load_pem_private_key(self._key.encode(), password=None)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))  # type: ignore[arg-type]
        return {**jwk, "kid": self.key_id, "use": "sig", "alg": "RS256"}

    @property
    def key_id(self) -> str:
        """Names the key in every token's header, so a JWKS client can pick it."""
        import hashlib

        private = serialization.load_pem_private_key(self._key.encode(), password=None)
        der = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(der).hexdigest()[:16]

    def token(
        self,
        subject: str,
        roles: Iterable[Role | str],
        sites: Iterable[str] = (),
        *,
        staff_ref: str | None = None,
        ttl_seconds: int = 8 * 3600,
        audience: str | None = None,
        extra: dict[str, object] | None = None,
    ) -> str:
        """An access token (audience: the services), or with ``audience`` and ``extra``
        (nonce, name) an OIDC ID token for a client."""
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": subject,
            "iss": self.issuer,
            "aud": audience or self.audience,
            "iat": now,
            "exp": now + ttl_seconds,
            "roles": [Role(r).value for r in roles],
            "sites": sorted(sites),
        }
        if staff_ref:
            claims["staff_ref"] = staff_ref
        claims.update(extra or {})
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})
