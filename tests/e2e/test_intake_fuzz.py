"""Schemathesis against intake's own OpenAPI, on the running platform: whatever a client
sends, valid or not, intake answers with success or a clear 4xx, never a server error."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

EXAMPLES_PER_OPERATION = 30


def fuzz(operation: Any, mode: GenerationMode, base_url: str, auth: dict[str, str]) -> tuple[int, list[str]]:
    """Send generated requests to one operation; the number sent and what went wrong."""
    sent, failures = 0, []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def probe(case: Any) -> None:
        nonlocal sent
        sent += 1
        response = case.call(base_url=base_url, headers=auth)
        where = f"{case.method} {case.formatted_path} ({mode.value})"
        if response.status_code >= 500:
            failures.append(f"{where}: {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400 and not response.json().get("message"):
            failures.append(f"{where}: a {response.status_code} without a message")

    try:
        probe()
    except Unsatisfiable:
        # an operation with nothing to get wrong (no parameters, no body) has no invalid
        # request; its valid ones were sent in the positive pass
        assert mode is GenerationMode.NEGATIVE, operation.label
    return sent, failures


def test_intake_never_answers_a_request_with_a_server_error(running_platform):
    p = running_platform
    base_url = p.url("intake")
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    # as an authority admin, so requests reach the handlers instead of stopping at the door
    auth = {"Authorization": f"Bearer {p.issuer.token('fuzz-admin', ['authority_admin'])}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # every route of intake is in the schema

    total, failures = 0, []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            sent, found = fuzz(operation, mode, base_url, auth)
            total += sent
            failures += found
    assert total > 10 * len(operations)
    assert not failures, "\n".join(sorted(set(failures))[:20])
