"""Spans leave without the raw address a client asked for (it may hold anything typed: a
name, a phone number, a private key); the route says which operation it was."""

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from servicekit.telemetry import AddressesLeftOut


class Kept(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans):  # type: ignore[no-untyped-def]
        self.spans += spans
        return SpanExportResult.SUCCESS


def test_the_raw_address_is_left_out_and_the_route_kept():
    kept = Kept()
    span = ReadableSpan(
        name="GET /sites/{site_id}/debrief-prompts",
        attributes={
            "http.target": "/sites/+1 555 0199/debrief-prompts",
            "http.url": "http://127.0.0.1/sites/+1 555 0199/debrief-prompts",
            "url.path": "/my-case/k/secret-key",
            "http.route": "/sites/{site_id}/debrief-prompts",
            "http.status_code": 403,
        },
    )
    assert AddressesLeftOut(kept).export([span]) is SpanExportResult.SUCCESS
    (sent,) = kept.spans
    assert dict(sent.attributes or {}) == {
        "http.route": "/sites/{site_id}/debrief-prompts",
        "http.status_code": 403,
    }
    assert sent.name == span.name
