"""Schemathesis against intake's own OpenAPI, on the running platform: whatever a client
sends, intake answers with a clear 4xx or success, never a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings


@pytest.fixture(scope="session")
def intake_api(running_platform):
    return schemathesis.openapi.from_url(f"{running_platform.url('intake')}/openapi.json")


schema = schemathesis.pytest.from_fixture("intake_api")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_intake_never_answers_a_request_with_a_server_error(case, running_platform):
    # as an authority admin, so requests reach the handlers instead of stopping at the door
    token = running_platform.issuer.token("fuzz-admin", ["authority_admin"])
    response = case.call(
        base_url=running_platform.url("intake"), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    )
    if 400 <= response.status_code < 500:
        assert response.json().get("message"), "every refusal says what to correct"
