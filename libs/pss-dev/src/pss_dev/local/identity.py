"""A development OpenID Connect provider for ``pss dev`` and the browser tests.

The authorization code flow with PKCE, as the authority's own provider runs it, signed
with the development key the services already trust. There are no passwords: the sign-in
page lists the accounts of a JSON file (re-read at every sign-in, so a test can add one)
and you choose one. Never deploy it; in production the front-end points at the
authority's provider (``OIDC_ISSUER``).

Environment: IDENTITY_ISSUER (its own address), IDENTITY_PRIVATE_KEY_PEM,
IDENTITY_ACCOUNTS_FILE, IDENTITY_CLIENTS (JSON: client id -> {"secret", "redirect_uris"}),
HTTP_PORT.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from servicekit.auth import DevTokenIssuer

CODE_SECONDS = 60
TOKEN_SECONDS = 12 * 3600  # a night shift, as the front-end's sessions


@dataclass(frozen=True)
class Account:
    username: str
    name: str
    roles: list[str]
    sites: list[str]
    staff_ref: str | None = None


def read_accounts(path: Path) -> dict[str, Account]:
    text = path.read_text().strip() if path.exists() else ""
    return {a["username"]: Account(**a) for a in json.loads(text)} if text else {}


def add_account(path: Path, account: Account) -> None:
    """Add or replace one account (the file is re-read at every sign-in)."""
    accounts = read_accounts(path)
    accounts[account.username] = account
    path.write_text(json.dumps([a.__dict__ for a in accounts.values()], indent=2))


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    account: Account
    nonce: str | None
    code_challenge: str
    expires: float


def _pkce(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def build(issuer: DevTokenIssuer, accounts_file: Path, clients: dict[str, dict[str, Any]]) -> FastAPI:
    app = FastAPI(title="pss development sign-in", docs_url=None, redoc_url=None)
    grants: dict[str, Grant] = {}

    def client(client_id: str, redirect_uri: str) -> dict[str, Any]:
        found = clients.get(client_id)
        if found is None or redirect_uri not in found["redirect_uris"]:
            # never redirect to an address the client did not register
            raise HTTPException(400, "unknown client or redirect_uri")
        return found

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        base = issuer.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "end_session_endpoint": f"{base}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        }

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        return {"keys": [issuer.public_jwk()]}

    @app.get("/health/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/authorize", response_class=HTMLResponse)
    async def authorize_form(
        client_id: str,
        redirect_uri: str,
        state: str,
        code_challenge: str,
        response_type: str = "code",
        code_challenge_method: str = "S256",
        nonce: str | None = None,
        scope: str = "openid",
    ) -> HTMLResponse:
        client(client_id, redirect_uri)
        if response_type != "code" or code_challenge_method != "S256" or "openid" not in scope.split():
            raise HTTPException(400, "only response_type=code, scope openid, with PKCE S256")
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{escape(v)}">'
            for k, v in {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": code_challenge,
                "nonce": nonce or "",
            }.items()
        )
        choices = "".join(
            f'<li><button type="submit" name="username" value="{escape(a.username)}">{escape(a.username)}'
            f"</button> {escape(a.name)}: {escape(', '.join(a.roles))}"
            f"{' for ' + escape(', '.join(a.sites)) if a.sites else ''}</li>"
            for a in read_accounts(accounts_file).values()
        )
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Development sign-in</title>"
            "</head><body><main><h1>Development sign-in</h1>"
            "<p>For local use only: choose an account. An authority signs in through its own provider."
            f"</p><form method='post' action='/authorize'>{hidden}"
            "<label for='username'>Account</label> <input id='username' name='username' autocomplete='off'> "
            f"<button type='submit'>Sign in</button><ul>{choices}</ul></form></main></body></html>"
        )

    @app.post("/authorize")
    async def authorize(
        username: Annotated[str, Form()],
        client_id: Annotated[str, Form()],
        redirect_uri: Annotated[str, Form()],
        state: Annotated[str, Form()],
        code_challenge: Annotated[str, Form()],
        nonce: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        client(client_id, redirect_uri)
        account = read_accounts(accounts_file).get(username.strip())
        if account is None:
            raise HTTPException(400, f"no account {username!r} in {accounts_file}")
        code = secrets.token_urlsafe(32)
        grants[code] = Grant(
            client_id, redirect_uri, account, nonce or None, code_challenge, time.monotonic() + CODE_SECONDS
        )
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", 303)

    @app.post("/token")
    async def token(
        grant_type: Annotated[str, Form()],
        code: Annotated[str, Form()],
        redirect_uri: Annotated[str, Form()],
        client_id: Annotated[str, Form()],
        client_secret: Annotated[str, Form()],
        code_verifier: Annotated[str, Form()],
    ) -> JSONResponse:
        registered = client(client_id, redirect_uri)
        grant = grants.pop(code, None)  # a code works once
        if (
            grant_type != "authorization_code"
            or not hmac.compare_digest(client_secret, registered["secret"])
            or grant is None
            or grant.expires < time.monotonic()
            or grant.client_id != client_id
            or grant.redirect_uri != redirect_uri
            or not hmac.compare_digest(_pkce(code_verifier), grant.code_challenge)
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        a = grant.account
        access = issuer.token(a.username, a.roles, a.sites, staff_ref=a.staff_ref, ttl_seconds=TOKEN_SECONDS)
        identity = issuer.token(
            a.username,
            a.roles,
            a.sites,
            staff_ref=a.staff_ref,
            ttl_seconds=TOKEN_SECONDS,
            audience=client_id,
            extra={"name": a.name, **({"nonce": grant.nonce} if grant.nonce else {})},
        )
        return JSONResponse(
            {
                "access_token": access,
                "id_token": identity,
                "token_type": "Bearer",
                "expires_in": TOKEN_SECONDS,
            },
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/logout")
    async def logout(post_logout_redirect_uri: Annotated[str | None, Query()] = None) -> RedirectResponse:
        known = {uri.rsplit("/signin/", 1)[0] for c in clients.values() for uri in c["redirect_uris"]}
        target = post_logout_redirect_uri or ""
        if not any(target.startswith(base) for base in known):
            raise HTTPException(400, "unknown post_logout_redirect_uri")
        return RedirectResponse(target, 303)

    return app


def main() -> None:
    import uvicorn

    issuer = DevTokenIssuer(os.environ["IDENTITY_PRIVATE_KEY_PEM"], issuer=os.environ["IDENTITY_ISSUER"])
    app = build(
        issuer, Path(os.environ["IDENTITY_ACCOUNTS_FILE"]), json.loads(os.environ["IDENTITY_CLIENTS"])
    )
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["HTTP_PORT"]), log_level="warning")


if __name__ == "__main__":
    main()
