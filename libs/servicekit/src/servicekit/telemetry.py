"""OpenTelemetry for every service: traces, metrics and structured logs.

Spans and logs carry ids and categories only; never names, contacts or free text. Export
follows the standard OTEL_* variables, each optional:
- ``OTEL_EXPORTER_OTLP_ENDPOINT``: spans and metrics over OTLP (to a collector, production);
- ``OTEL_EXPORTER_ZIPKIN_ENDPOINT``: spans to a Zipkin server too (the local trace UI);
- ``OTEL_METRICS_EXPORTER`` naming ``prometheus``: metrics served at ``/metrics`` for a
  Prometheus server to scrape (the local metrics store).
Without any, the providers still run so trace ids reach the logs.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from contracts import EVENT_TYPES
from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_configured: dict[str, Any] = {}


def setup_telemetry(service: str, *, log_level: str = "INFO", log_json: bool = True) -> None:
    """Install providers once per process. Called from the runner, not at import."""
    if _configured:
        return
    resource = Resource.create({"service.name": service, "service.namespace": "pss"})
    tracer_provider = TracerProvider(resource=resource)
    readers: list[MetricReader] = []
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        tracer_provider.add_span_processor(BatchSpanProcessor(AddressesLeftOut(OTLPSpanExporter())))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    if os.environ.get("OTEL_EXPORTER_ZIPKIN_ENDPOINT"):
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        tracer_provider.add_span_processor(BatchSpanProcessor(AddressesLeftOut(ZipkinExporter())))
    if prometheus_scraped():
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        readers.append(PrometheusMetricReader())
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
    _configured.update(service=service, tracer_provider=tracer_provider)
    _setup_logging(service, log_level, log_json)


def prometheus_scraped() -> bool:
    """Whether this process serves its metrics at ``/metrics`` (OTEL_METRICS_EXPORTER)."""
    exporters = os.environ.get("OTEL_METRICS_EXPORTER", "")
    return "prometheus" in {name.strip() for name in exporters.split(",")}


# the address a client asked for, as it asked: a path or a query may hold anything a caller
# typed (a name, a phone number, a private key). The route template (http.route) says which
# operation it was, and is kept. servicekit.request_spans never records an address; this is
# for any other library that would (an HTTP client's instrumentation, say).
ADDRESSES = frozenset({"http.target", "http.url", "url.full", "url.path", "url.query"})


class AddressesLeftOut(SpanExporter):
    """Exports every span without the raw addresses of its request."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([without_addresses(s) for s in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


def without_addresses(span: ReadableSpan) -> ReadableSpan:
    attributes = span.attributes or {}
    if not ADDRESSES & set(attributes):
        return span
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes={k: v for k, v in attributes.items() if k not in ADDRESSES},
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def shutdown_telemetry() -> None:
    provider = _configured.get("tracer_provider")
    if provider is not None:
        provider.force_flush()
        provider.shutdown()


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def continue_trace(traceparent: str | None) -> Iterator[None]:
    """Make a stored trace context current: a timer or an acknowledgement then joins the
    referral's trace instead of starting a new one."""
    if not traceparent:
        yield
        return
    token = otel_context.attach(TraceContextTextMapPropagator().extract({"traceparent": traceparent}))
    try:
        yield
    finally:
        otel_context.detach(token)


def event_attributes(envelope: dict[str, Any]) -> dict[str, str]:
    """The labels an emitted event is counted under: its type and the categories its class
    declares in ``METRIC_LABELS``. No site and no id: the operations metrics must not let
    anyone pick out one referral at one hospital."""
    event_type = str(envelope.get("type"))
    attributes = {"event_type": event_type}
    event_cls = EVENT_TYPES.get(event_type)
    payload = envelope.get("payload") or {}
    for label in event_cls.METRIC_LABELS if event_cls else ():
        value = payload.get(label)
        attributes[label] = str(value).lower() if isinstance(value, bool) else str(value)
    return attributes


@dataclass
class Instruments:
    outbox_published: metrics.Counter
    events_consumed: metrics.Counter
    dead_letters: metrics.Counter
    handler_failures: metrics.Counter
    background_failures: metrics.Counter


@cache
def instruments() -> Instruments:
    meter = metrics.get_meter("pss.servicekit")
    return Instruments(
        outbox_published=meter.create_counter("pss.outbox.published", description="events relayed"),
        events_consumed=meter.create_counter("pss.events.consumed", description="events processed"),
        dead_letters=meter.create_counter("pss.dead_letters", description="messages dead-lettered"),
        handler_failures=meter.create_counter("pss.handler.failures", description="failed attempts"),
        background_failures=meter.create_counter(
            "pss.background.failures", description="failed steps of a background loop (timers, publication)"
        ),
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the trace and span ids of the current span."""

    # only these extras are copied: a log call cannot smuggle a person's details through
    # an arbitrary ``extra=`` field
    ALLOWED_EXTRAS = (
        "service",
        "event_id",
        "event_type",
        "topic",
        "partition",
        "offset",
        "attempt",
        "referral_id",
        "page_id",
        "site_id",
        "consumer",
        "reason",
        "count",
        "url",
    )

    def format(self, record: logging.LogRecord) -> str:
        span = trace.get_current_span().get_span_context()
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "service": _configured.get("service"),
        }
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        for key in self.ALLOWED_EXTRAS:
            if key in record.__dict__:
                entry[key] = str(record.__dict__[key])
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _setup_logging(service: str, level: str, as_json: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log prints full URLs; ours hold ids only, but keep it quiet anyway
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # httpx logs every request's whole address at INFO: a webhook's address is a person's
    # contact route, sealed at rest, often with its secret in the path
    logging.getLogger("httpx").setLevel(logging.WARNING)
