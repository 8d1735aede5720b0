"""Statements are counted on the step's span; only a slow one gets a span of its own."""

from __future__ import annotations

import sqlalchemy as sa
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from servicekit.sql_spans import SqlSpans


def _traced(slow_ms: float) -> tuple[InMemorySpanExporter, SqlSpans, sa.Engine]:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    spans = SqlSpans(slow_ms)
    spans._tracer = provider.get_tracer("test")
    engine = sa.create_engine("sqlite://")
    spans.instrument(engine)
    return exported, spans, engine


def test_each_statement_is_counted_on_the_step_and_a_fast_one_has_no_span():
    exported, spans, engine = _traced(slow_ms=10_000)
    with spans._tracer.start_as_current_span("event consumed"), engine.connect() as conn:
        for _ in range(3):
            conn.execute(sa.text("SELECT 1"))
    (step,) = exported.get_finished_spans()
    assert step.name == "event consumed"
    assert step.attributes["db.system"] == "postgresql" and step.attributes["db.statements"] == 3
    assert step.attributes["db.milliseconds"] >= 0


def test_a_slow_statement_has_a_span_of_its_own_with_its_text_in_the_step():
    exported, spans, engine = _traced(slow_ms=0)
    with spans._tracer.start_as_current_span("event consumed"), engine.connect() as conn:
        conn.execute(sa.text("SELECT :value"), {"value": "a value never shown"})
    slow, step = exported.get_finished_spans()
    assert slow.name == "slow SELECT" and slow.attributes["db.statement"] == "SELECT ?"
    assert slow.parent is not None and slow.parent.span_id == step.context.span_id
    assert slow.end_time >= slow.start_time
    assert "a value never shown" not in repr(slow.attributes)


def test_a_statement_outside_any_span_costs_no_span():
    exported, _spans, engine = _traced(slow_ms=10_000)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    assert exported.get_finished_spans() == ()
