"""Spans a test can read: kept in memory from the process's tracer provider."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def kept_spans() -> InMemorySpanExporter:
    """Every span ended from now on in this process, as the services' own code makes them
    (through the global provider: OpenTelemetry lets a process set it only once)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # nothing set one in this process yet
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    kept = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(kept))
    return kept
