"""Sign-in through the authority's OpenID Connect provider: the authorization code flow
with PKCE, a state bound to the browser and a nonce bound to the ID token."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from frontend.session import Session


class SignInFailed(RuntimeError):
    """The provider's answer could not be trusted; the message says what to do."""


@dataclass(frozen=True)
class Started:
    redirect_to: str
    pending: dict[str, object]  # kept sealed in a short-lived cookie until the callback


def safe_return_path(path: str | None) -> str:
    """Only a path of this front-end: never an open redirect to another site."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


class Provider:
    """The provider's endpoints and keys, discovered once and cached."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, callback_url: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.callback_url = callback_url
        self._configuration: dict[str, Any] | None = None
        self._keys: jwt.PyJWKSet | None = None

    async def configuration(self, http: httpx.AsyncClient) -> dict[str, Any]:
        if self._configuration is None:
            found = (await http.get(f"{self.issuer}/.well-known/openid-configuration")).raise_for_status()
            configuration = found.json()
            if configuration.get("issuer", "").rstrip("/") != self.issuer:
                raise SignInFailed("the sign-in provider names another issuer than the one configured")
            self._configuration = configuration
        return self._configuration

    async def _signing_key(self, http: httpx.AsyncClient, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        for attempt in range(2):
            if self._keys is None or attempt:  # a key not seen yet: the provider rotated
                jwks_uri = (await self.configuration(http))["jwks_uri"]
                self._keys = jwt.PyJWKSet.from_dict((await http.get(jwks_uri)).raise_for_status().json())
            for key in self._keys.keys:
                if kid is None or key.key_id == kid:
                    return key.key
        raise SignInFailed("the ID token is signed with a key the provider does not publish")

    async def start(self, http: httpx.AsyncClient, return_to: str) -> Started:
        configuration = await self.configuration(http)
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.callback_url,
                "scope": "openid profile",
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return Started(
            f"{configuration['authorization_endpoint']}?{query}",
            {"state": state, "nonce": nonce, "verifier": verifier, "return_to": safe_return_path(return_to)},
        )

    async def finish(
        self, http: httpx.AsyncClient, code: str, state: str, pending: dict[str, object] | None
    ) -> Session:
        if pending is None or not secrets.compare_digest(state, str(pending.get("state", ""))):
            raise SignInFailed("this sign-in was not started here or took too long; please sign in again")
        configuration = await self.configuration(http)
        answer = await http.post(
            configuration["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.callback_url,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "code_verifier": str(pending["verifier"]),
            },
        )
        if answer.status_code != 200:
            raise SignInFailed("the sign-in provider refused the sign-in; please sign in again")
        tokens = answer.json()
        id_token = tokens.get("id_token", "")
        try:
            claims = jwt.decode(
                id_token,
                key=await self._signing_key(http, id_token),
                algorithms=["RS256", "ES256"],
                audience=self.client_id,
                issuer=configuration["issuer"],
                options={"require": ["exp", "sub", "iss", "aud", "nonce"]},
            )
        except jwt.PyJWTError as exc:
            raise SignInFailed(f"the ID token was not valid ({exc}); please sign in again") from None
        if not secrets.compare_digest(str(claims["nonce"]), str(pending["nonce"])):
            raise SignInFailed("the ID token was not issued for this sign-in; please sign in again")
        return Session(
            subject=str(claims["sub"]),
            name=str(claims.get("name") or claims["sub"]),
            roles=[str(r) for r in claims.get("roles", [])],
            sites=sorted(str(s) for s in claims.get("sites", [])),
            staff_ref=claims.get("staff_ref"),
            access_token=str(tokens["access_token"]),
            expires_at=min(float(claims["exp"]), time.time() + float(tokens.get("expires_in", 3600))),
        )

    async def sign_out_url(self, http: httpx.AsyncClient, return_to: str) -> str | None:
        end = (await self.configuration(http)).get("end_session_endpoint")
        return f"{end}?{urlencode({'post_logout_redirect_uri': return_to})}" if end else None
