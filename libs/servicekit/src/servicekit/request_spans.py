"""One span a request, named by the operation, never by the address.

OpenTelemetry's ASGI instrumentation recorded each request's raw address on its span (the
path, the query, the full URL: whatever a caller typed, a name or a worker's private key),
for ``telemetry.AddressesLeftOut`` to strip at export; and it matched the route a second
time, before the application did, to name the span. Here the span carries the route's
template only, read from the route the application matched, so no address is ever on a
span, in this process or any exporter. It cost about twice the CPU a request of the same
application without it (``bench/request_cost.py``, issue 25).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import metrics, trace
from opentelemetry.propagate import extract, get_global_textmap
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# the name of a request no route matched: its address is the caller's, not an operation's
UNMATCHED = "unmatched"
# for ``FastAPI(telemetry=...)``: FastAPI's own spans, metrics and exception logs (the last
# with exception messages, which may quote what a caller sent) would come on beside these
# once OpenTelemetry's instrumentation is gone
NO_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


class RequestSpans:
    """ASGI middleware: a server span for each HTTP request, continuing the caller's trace
    (``traceparent``), named ``<method> <route template>``, with the method, the template
    and the status; and each request's duration by the same three. Requests whose path
    starts with one of ``excluded`` (health checks, static files, a worker's private link)
    are neither traced nor counted."""

    def __init__(self, app: ASGIApp, *, excluded: Iterable[str] = ()) -> None:
        self.app = app
        self.excluded = tuple(excluded)
        self._tracer = trace.get_tracer("pss.http")
        self._duration = metrics.get_meter("pss.http").create_histogram(
            "http.server.request.duration", unit="s", description="Duration of HTTP server requests."
        )
        # the propagator's own header names (traceparent, tracestate, baggage), as bytes
        self._fields = frozenset(name.encode("latin-1") for name in get_global_textmap().fields)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.excluded):
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in self._fields
        }
        status = 500  # what the server answers when the application raised before answering

        async def answered(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        method = scope["method"]
        started = time.perf_counter()
        with self._tracer.start_as_current_span(
            method, context=extract(carrier), kind=SpanKind.SERVER, record_exception=False
        ) as span:
            try:
                await self.app(scope, receive, answered)
            finally:
                route = _template(scope)
                span.update_name(f"{method} {route}")
                attributes: dict[str, Any] = {
                    "http.request.method": method,
                    "http.route": route,
                    "http.response.status_code": status,
                }
                span.set_attributes(attributes)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)
                self._duration.record(time.perf_counter() - started, attributes)


def _template(scope: Scope) -> str:
    # the router writes the route it matched into the scope (Starlette's Router.app)
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED
