"""What one HTTP request costs a service's process in CPU through its whole ASGI stack,
in-process (no socket, no database): a service as ``servicekit.service.build_service``
builds it, traced by ``servicekit.request_spans`` (since issue 25's fifteenth round) or by
OpenTelemetry's ASGI instrumentation (before it), against a floor in the same run: the
same service with no tracing at all. Spans go through a batch processor to an exporter
that keeps nothing, as in a service that exports them, and the CPU counted is the whole
process's (the exporter's thread too).

    uv run python bench/request_cost.py [--requests N] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import uvloop
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from pydantic import BaseModel
from servicekit.auth import DevTokenIssuer
from servicekit.request_spans import RequestSpans
from servicekit.service import build_service
from servicekit.settings import ServiceSettings
from servicekit.telemetry import AddressesLeftOut

BODY = (
    b'{"site_id": "north-general", "reason_category": "patient_safety", "reason_kind": "near_miss",'
    b' "urgency": "within_hours", "modality": "phone", "name": "A Worker", "phone": "+15555550100"}'
)
TRACEPARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Kept(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class Referral(BaseModel):
    site_id: str
    reason_category: str
    reason_kind: str
    urgency: str
    modality: str
    name: str
    phone: str


def service(tracing: str) -> Any:
    _, public_pem = DevTokenIssuer.generate(issuer="pss-dev")
    api = build_service("intake", ServiceSettings(auth_public_key_pem=public_pem), description="d").api

    @api.post("/v1/referrals/{path}", status_code=201)
    async def refer(path: str, referral: Referral) -> dict[str, str]:
        return {"referral_id": "0b7c6b2e-3f4a-4d43-9d55-8f3f6c1d2e10", "status": "accepted"}

    if tracing == "none":
        api.user_middleware = [m for m in api.user_middleware if m.cls is not RequestSpans]
    elif tracing == "OpenTelemetry's ASGI instrumentation":
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        api.user_middleware = [m for m in api.user_middleware if m.cls is not RequestSpans]
        FastAPIInstrumentor.instrument_app(
            api, excluded_urls="health/.*,metrics", exclude_spans=["receive", "send"]
        )
    return api


async def one(app: Any) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/referrals/self",
        "raw_path": b"/v1/referrals/self",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8101"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode()),
            (b"traceparent", TRACEPARENT),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8101),
        "state": {},
    }
    messages = [{"type": "http.request", "body": BODY, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    answered: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answered.append(message["status"])

    await app(scope, receive, send)
    assert answered == [201], answered


async def measure(requests: int, rounds: int) -> dict[str, float]:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(AddressesLeftOut(Kept()), max_queue_size=100_000))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider())
    ways: dict[str, Callable[[], Any]] = {
        name: (lambda name=name: service(name))
        for name in ("none", "servicekit.request_spans", "OpenTelemetry's ASGI instrumentation")
    }
    apps = {name: make() for name, make in ways.items()}
    found: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):  # interleaved: a slow moment of the machine falls on each
        for name, app in apps.items():
            for _ in range(requests // 10):
                await one(app)
            provider.force_flush()
            started = time.process_time()
            for _ in range(requests):
                await one(app)
            provider.force_flush()  # the export of these requests' spans, counted with them
            found[name].append((time.process_time() - started) / requests * 1000)
    provider.shutdown()
    return {name: statistics.median(values) for name, values in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    medians = uvloop.run(measure(args.requests, args.rounds))
    floor = medians["none"]
    print("CPU of this process a request, ms (median of the rounds)")
    for name, ms in medians.items():
        print(f"{name:40}{ms:8.3f}   {ms / floor:4.1f}x the floor (no tracing)")


if __name__ == "__main__":
    main()
