"""A route that names a site in its path admits only callers who act for that site, and the
refusal is the same 404 whether the site exists elsewhere or not at all."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from servicekit.api import install_error_handlers
from servicekit.auth import DevTokenIssuer, Role, SiteCoordinator, TokenVerifier


def _app(issuer: DevTokenIssuer, public_key_pem: str) -> FastAPI:
    app = FastAPI()
    app.state.token_verifier = TokenVerifier(
        issuer=issuer.issuer, audience=issuer.audience, public_key_pem=public_key_pem, jwks_url=None
    )
    install_error_handlers(app)

    @app.get("/sites/{site_id}/roster")
    async def roster(site_id: str, principal: SiteCoordinator) -> dict[str, str]:
        return {"site": site_id, "by": principal.subject}

    return app


def test_a_site_coordinator_reaches_their_own_site_only():
    issuer, public_key_pem = DevTokenIssuer.generate()
    client = TestClient(_app(issuer, public_key_pem))

    def get(path: str, roles: list[Role], sites: list[str]):
        token = issuer.token("c1", roles, sites)
        return client.get(path, headers={"Authorization": f"Bearer {token}"})

    assert get("/sites/north/roster", [Role.SITE_COORDINATOR], ["north"]).json() == {
        "site": "north",
        "by": "c1",
    }
    other = get("/sites/south/roster", [Role.SITE_COORDINATOR], ["north"])
    unknown = get("/sites/nowhere/roster", [Role.SITE_COORDINATOR], ["north"])
    assert other.status_code == unknown.status_code == 404 and other.json() == unknown.json()
    assert get("/sites/south/roster", [Role.AUTHORITY_ADMIN], []).status_code == 200
    assert get("/sites/north/roster", [Role.PEER_SUPPORTER], ["north"]).status_code == 403
