"""The database work in a referral's trace, at the cost of a counter: each statement adds to
the current span's ``db.statements`` and ``db.milliseconds`` (``db.system`` is set on it), and
only a statement slower than the threshold gets a span of its own, with its text (SQL with
bound parameters, never their values). A span per statement was a large part of each event's
CPU (issue 25) and told an operator little that the step's own span does not."""

from __future__ import annotations

import time
import weakref
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy import event
from sqlalchemy.engine import Engine

from servicekit import driver

STARTED = "pss_started_ns"  # where a statement's start is kept, on its execution context
TEXT_KEPT = 2000  # characters of a slow statement's text on its span


class SqlSpans:
    """Installed once per engine by ``instrument``; ``slow_ms`` is the threshold."""

    def __init__(self, slow_ms: float) -> None:
        self.slow_ns = int(slow_ms * 1_000_000)
        self._tracer = trace.get_tracer("pss.servicekit.sql")
        # what each span has counted so far (the SDK's span attributes are write-only)
        self._counted: weakref.WeakKeyDictionary[Any, list[int]] = weakref.WeakKeyDictionary()

    def instrument(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

        def on_driver(async_engine: Any, statement: str, wall: int, elapsed: int) -> None:
            if async_engine.sync_engine is engine:
                self._record(statement, wall, elapsed)

        driver.observers.append(on_driver)  # the statements run on the driver (servicekit.driver)

    def _before(
        self, _conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if context is not None:
            setattr(context, STARTED, (time.time_ns(), time.perf_counter_ns()))

    def _after(
        self, _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        started = getattr(context, STARTED, None)
        if started is None:
            return
        wall, began = started
        self._record(statement, wall, time.perf_counter_ns() - began)

    def _record(self, statement: str, wall: int, elapsed: int) -> None:
        span = trace.get_current_span()
        if span.is_recording():
            counted = self._counted.setdefault(span, [0, 0])
            counted[0] += 1
            counted[1] += elapsed
            span.set_attribute("db.system", "postgresql")
            span.set_attribute("db.statements", counted[0])
            span.set_attribute("db.milliseconds", round(counted[1] / 1_000_000, 3))
        if elapsed >= self.slow_ns:
            verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
            slow = self._tracer.start_span(
                f"slow {verb}",
                kind=SpanKind.CLIENT,
                start_time=wall,
                attributes={"db.system": "postgresql", "db.statement": statement[:TEXT_KEPT]},
            )
            slow.end(end_time=wall + elapsed)
