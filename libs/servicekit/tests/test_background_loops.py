"""A background loop that keeps failing is counted, so an alert can wake someone: a timer
loop that fails in silence would leave a page unescalated. A loop sleeps until it has work:
woken by a commit, or when the next timer is due."""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from servicekit import service, timers
from servicekit.outbox import OutboxRelay
from servicekit.service import repeat
from sqlalchemy.ext.asyncio import create_async_engine


@dataclass
class _Counted:
    background_failures: Counter


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch) -> InMemoryMetricReader:
    # a provider of the test's own: the global one can be set only once per process
    reader = InMemoryMetricReader()
    counter = (
        MeterProvider(metric_readers=[reader]).get_meter("test").create_counter("pss.background.failures")
    )
    monkeypatch.setattr(service, "instruments", lambda: _Counted(counter))
    return reader


def _failures(reader: InMemoryMetricReader) -> dict[str, int]:
    found: dict[str, int] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    found[str(point.attributes["loop"])] = int(point.value)
    return found


async def test_every_failed_step_of_a_background_loop_is_counted_under_the_loops_name(reader):
    attempts = 0
    thrice = asyncio.Event()

    async def failing() -> int:
        nonlocal attempts
        attempts += 1
        if attempts >= 3:
            thrice.set()
        raise RuntimeError("cannot protect this month")

    loop = asyncio.create_task(repeat(failing, interval=0.01, name="metrics.publication"))
    await asyncio.wait_for(thrice.wait(), timeout=10)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert _failures(reader)["metrics.publication"] >= 3


async def test_a_loop_with_a_wake_runs_again_when_woken_not_only_at_its_interval():
    passes = asyncio.Queue[int]()
    wake = asyncio.Event()

    async def step() -> int:
        passes.put_nowait(1)
        return 0

    # an interval no test waits out: a second pass can only come from the wake
    task = asyncio.create_task(repeat(step, interval=3600, name="oncall.notifications", wake=wake))
    try:
        await asyncio.wait_for(passes.get(), 30)  # the first pass
        wake.set()
        await asyncio.wait_for(passes.get(), 30)  # woken
        assert passes.empty()
    finally:
        task.cancel()


async def test_a_step_that_took_less_than_a_full_batch_waits_for_its_wake_instead_of_looking_again():
    """A delivery step that sent 3 of at most 20 took all that was due: looking again at once
    would be a transaction that finds nothing. A full batch looks again at once."""
    passes = asyncio.Queue[int]()
    wake = asyncio.Event()
    found = iter([20, 3, 0])

    async def step() -> int:
        done = next(found)
        passes.put_nowait(done)
        return done

    task = asyncio.create_task(repeat(step, interval=3600, name="oncall.notifications", wake=wake, full=20))
    try:
        assert await asyncio.wait_for(passes.get(), 30) == 20
        assert await asyncio.wait_for(passes.get(), 30) == 3  # a full batch: at once
        await asyncio.sleep(0.2)
        assert passes.empty()  # 3 of 20: it waits
        wake.set()
        assert await asyncio.wait_for(passes.get(), 30) == 0
    finally:
        task.cancel()


async def test_a_loop_with_a_rest_looks_again_when_the_next_timer_is_due_not_at_its_interval():
    passes = asyncio.Queue[int]()

    async def step() -> int:
        passes.put_nowait(1)
        return 0

    async def rest() -> float:
        return 0.05  # the next timer is due in 50 ms

    task = asyncio.create_task(repeat(step, interval=3600, name="oncall.timers", rest=rest))
    try:
        await asyncio.wait_for(passes.get(), 30)
        await asyncio.wait_for(passes.get(), 30)  # only the rest can bring it this soon
    finally:
        task.cancel()


async def test_a_commit_while_the_relay_publishes_wakes_it_again_at_once():
    """The relay's wake is cleared before a batch: a commit during the batch (its rows were
    not in it) sets it, and the relay looks again at once, not at its next poll."""
    wake = asyncio.Event()
    relay = OutboxRelay(None, "unused:9092", wake=wake, poll_seconds=3600, batch_size=10, service="s")  # type: ignore[arg-type]
    relay._backlog_checked = math.inf  # no backlog query in this test
    batches = asyncio.Queue[int]()
    published = 0

    async def publish_batch() -> int:
        nonlocal published
        published += 1
        if published == 1:
            wake.set()  # another transaction commits events while this batch is out
        batches.put_nowait(published)
        return 1

    relay.publish_batch = publish_batch  # type: ignore[method-assign]
    task = asyncio.create_task(relay.run())
    try:
        assert await asyncio.wait_for(batches.get(), 30) == 1
        assert await asyncio.wait_for(batches.get(), 30) == 2  # woken by that commit, not the hour's poll
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_timer_due_before_the_loops_next_look_wakes_it_and_a_later_one_does_not():
    class Uow:  # the unit of work and its driver, as far as starting timers uses them
        engine = create_async_engine("postgresql+asyncpg://nobody@nowhere/none")  # never connects

        def __init__(self) -> None:
            self.signalled: list[str] = []

        async def driver(self) -> Uow:
            return self

        async def executemany(self, _statement: object, _rows: object = None) -> None:
            return None

        def signal_after_commit(self, name: str) -> None:
            self.signalled.append(name)

    table = timers.timer_table("page_timer", sa.MetaData(), sa.Column("step", sa.Integer))
    now = datetime.now(UTC)
    soon, later, together = Uow(), Uow(), Uow()
    await timers.start(soon, table, due_at=now + timedelta(seconds=1), step=0)  # type: ignore[arg-type]
    await timers.start(later, table, due_at=now + timedelta(minutes=5), step=0)  # type: ignore[arg-type]
    assert soon.signalled == [timers.started(table)]
    assert later.signalled == []  # the loop's next look, within 2 s, sees it in time
    # several started together: the soonest of them decides
    rows = [
        {"due_at": now + timedelta(minutes=5), "step": 0},
        {"due_at": now + timedelta(seconds=1), "step": 1},
    ]
    await timers.start_all(together, table, rows)  # type: ignore[arg-type]
    assert together.signalled == [timers.started(table)]


async def test_a_timer_overdue_but_not_taken_is_looked_at_again_soon_not_in_a_spin(
    monkeypatch: pytest.MonkeyPatch, reader: InMemoryMetricReader
):
    """Two replicas: the other holds the due timer's lock, so this step takes nothing while
    the next timer reads as overdue; and a step that fails leaves its timer due. Neither may
    make the loop poll the database without pause."""
    pauses: list[float] = []

    async def recorded(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:
            raise asyncio.CancelledError  # enough: ends the loop

    async def overdue() -> float:
        return -5.0  # due five seconds ago

    steps = iter([0, RuntimeError("the timer's action failed")])

    async def step() -> int:
        outcome = next(steps)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(service.asyncio, "sleep", recorded)
    with pytest.raises(asyncio.CancelledError):
        await repeat(step, interval=2.0, name="oncall.timers", rest=overdue)
    assert pauses == [service.REST_AT_LEAST_SECONDS, 2.0]  # soon; after a failure, the interval


async def test_a_woken_relay_publishes_before_it_refreshes_its_backlog_gauges():
    """The gauges' query went before the batch once in five seconds: on the path of the
    events the wake was for."""
    wake = asyncio.Event()
    relay = OutboxRelay(None, "unused:9092", wake=wake, poll_seconds=3600, batch_size=10, service="s")  # type: ignore[arg-type]
    done: list[str] = []

    async def publish_batch() -> int:
        done.append("publish")
        return 1

    async def refresh_backlog() -> None:
        done.append("backlog")
        relay._backlog_checked = math.inf  # once is enough here

    relay.publish_batch = publish_batch  # type: ignore[method-assign]
    relay.refresh_backlog = refresh_backlog  # type: ignore[method-assign]
    task = asyncio.create_task(relay.run())
    try:
        for _ in range(100):
            if len(done) >= 2:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert done[:2] == ["publish", "backlog"]
