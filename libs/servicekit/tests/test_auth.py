"""Tokens: who the caller is, their roles and sites."""

import time

import jwt
import pytest
from servicekit.auth import DevTokenIssuer, Principal, Role, TokenVerifier


@pytest.fixture(scope="module")
def keys():
    return DevTokenIssuer.generate()


def test_a_valid_token_gives_roles_sites_and_staff_reference(keys):
    issuer, public = keys
    verifier = TokenVerifier(issuer="pss-dev", audience="pss", public_key_pem=public)
    who = verifier.verify(issuer.token("u1", [Role.SITE_COORDINATOR], ["north"], staff_ref="st-c1"))
    assert who == Principal("u1", frozenset({Role.SITE_COORDINATOR}), frozenset({"north"}), "st-c1")
    assert who.acts_for("north") and not who.acts_for("south")


def test_a_token_signed_by_another_key_is_refused(keys):
    _, public = keys
    stranger, _ = DevTokenIssuer.generate()
    verifier = TokenVerifier(issuer="pss-dev", audience="pss", public_key_pem=public)
    with pytest.raises(jwt.InvalidSignatureError):
        verifier.verify(stranger.token("u1", [Role.AUTHORITY_ADMIN]))


def test_an_expired_token_is_refused(keys):
    issuer, public = keys
    verifier = TokenVerifier(issuer="pss-dev", audience="pss", public_key_pem=public)
    with pytest.raises(jwt.ExpiredSignatureError):
        verifier.verify(issuer.token("u1", [Role.OPS], ttl_seconds=-10))


def test_an_authority_admin_acts_for_every_site():
    assert Principal("a", frozenset({Role.AUTHORITY_ADMIN})).acts_for("anywhere")


def test_unknown_roles_in_a_token_are_ignored(keys):
    issuer, public = keys
    claims = {
        "sub": "u",
        "iss": "pss-dev",
        "aud": "pss",
        "exp": int(time.time()) + 60,
        "roles": ["root", "ops"],
    }
    token = jwt.encode(claims, issuer.private_key_pem, algorithm="RS256")
    who = TokenVerifier(issuer="pss-dev", audience="pss", public_key_pem=public).verify(token)
    assert who.roles == frozenset({Role.OPS})


def test_a_service_without_a_token_key_refuses_to_start():
    from servicekit.service import build_service
    from servicekit.settings import ServiceSettings

    with pytest.raises(ValueError, match="AUTH_JWKS_URL"):
        build_service(
            "intake",
            ServiceSettings(auth_public_key_pem=None, auth_jwks_url=None),
            description="d",
        )
