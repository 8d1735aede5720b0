"""A service's request is one server span in its caller's trace, named by the route's
template: no address a caller typed (a name, a phone number, a private key) is ever on it,
not even before export. Probes and the scraper are not traced."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import HTTPException
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pss_testkit.spans import kept_spans
from servicekit.auth import DevTokenIssuer
from servicekit.service import build_service
from servicekit.settings import ServiceSettings
from servicekit.telemetry import ADDRESSES

CALLER_TRACE = 0x0AF7651916CD43DD8448EB211C80319C
CALLER_SPAN = 0xB7AD6B7169203331
TRACEPARENT = f"00-{CALLER_TRACE:032x}-{CALLER_SPAN:016x}-01"
TYPED = "+1 555 0199"  # what a caller put in an address


@pytest.fixture(scope="module")
def exported() -> Iterator[InMemorySpanExporter]:
    kept = kept_spans()
    yield kept
    kept.shutdown()


@pytest.fixture
def client(exported: InMemorySpanExporter) -> Iterator[httpx.AsyncClient]:
    _, public_pem = DevTokenIssuer.generate(issuer="pss-dev")
    service = build_service("intake", ServiceSettings(auth_public_key_pem=public_pem), description="d")

    @service.api.get("/sites/{site_id}/debrief-prompts")
    async def prompts(site_id: str) -> dict[str, str]:
        raise HTTPException(status_code=403, detail="not your site")

    @service.api.post("/v1/referrals", status_code=201)
    async def refer() -> dict[str, str]:
        return {"status": "accepted"}

    @service.api.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    exported.clear()
    transport = httpx.ASGITransport(app=service.api, raise_app_exceptions=False)
    yield httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


def _only(exported: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exported.get_finished_spans()
    return span


def _no_address(span: ReadableSpan) -> None:
    attributes = dict(span.attributes or {})
    assert not ADDRESSES & set(attributes), attributes
    assert not any(TYPED in str(value) or "+1%20555" in str(value) for value in attributes.values())
    assert TYPED not in span.name


async def test_a_request_is_one_server_span_in_the_callers_trace_named_by_its_route(
    client: httpx.AsyncClient, exported: InMemorySpanExporter
):
    answer = await client.get(f"/sites/{TYPED}/debrief-prompts", headers={"traceparent": TRACEPARENT})
    assert answer.status_code == 403
    span = _only(exported)
    assert span.kind is SpanKind.SERVER
    assert span.name == "GET /sites/{site_id}/debrief-prompts"
    assert span.context.trace_id == CALLER_TRACE
    assert span.parent is not None and span.parent.span_id == CALLER_SPAN
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "http.route": "/sites/{site_id}/debrief-prompts",
        "http.response.status_code": 403,
    }
    _no_address(span)


async def test_a_request_without_a_caller_starts_its_own_trace(
    client: httpx.AsyncClient, exported: InMemorySpanExporter
):
    assert (await client.post("/v1/referrals")).status_code == 201
    span = _only(exported)
    assert span.name == "POST /v1/referrals" and span.parent is None
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 201


async def test_an_address_no_route_matches_is_named_unmatched(
    client: httpx.AsyncClient, exported: InMemorySpanExporter
):
    assert (await client.get(f"/people/{TYPED}")).status_code == 404
    span = _only(exported)
    assert span.name == "GET unmatched"
    _no_address(span)


async def test_a_request_that_fails_is_an_error_span_with_its_500(
    client: httpx.AsyncClient, exported: InMemorySpanExporter
):
    assert (await client.get("/broken")).status_code == 500
    span = _only(exported)
    assert span.name == "GET /broken" and span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 500


async def test_probes_are_not_traced(client: httpx.AsyncClient, exported: InMemorySpanExporter):
    assert (await client.get("/health/live")).status_code == 200
    assert exported.get_finished_spans() == ()
