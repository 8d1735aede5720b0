"""The statements on every event's path run on the driver's own connection (asyncpg's),
inside the unit of work's transaction: what a handler does through the session and what runs
on the driver commit or roll back together, and a connection a cancellation left inside a
statement is not handed to the next unit of work."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from contracts.events import ReferralClosed
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pss_testkit.database import round_trips
from servicekit import timers
from servicekit.database import UnitOfWorkFactory
from servicekit.driver import DriverStatement
from servicekit.inbox import claim, claim_all
from servicekit.sql_spans import SqlSpans
from servicekit.tables import INBOX, OUTBOX

pytestmark = pytest.mark.integration

TRANSACTION = DriverStatement(sa.select(sa.func.txid_current()))
SLEEP = DriverStatement(sa.select(sa.func.pg_sleep(sa.bindparam("seconds", type_=sa.Float))))


def _closed() -> ReferralClosed:
    return ReferralClosed(
        referral_id=uuid.uuid4(), site_id="site-a", contact_made=True, outcome="one_time_support"
    )


async def _count(database, table: sa.Table) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def test_the_inbox_claim_and_the_outbox_write_go_on_the_driver_not_through_sqlalchemy(scratch_database):
    through_sqlalchemy: list[str] = []

    @sa.event.listens_for(scratch_database.engine.sync_engine, "before_cursor_execute")
    def record(conn, cursor, statement, *_args):  # type: ignore[no-untyped-def]
        through_sqlalchemy.append(statement)

    units = UnitOfWorkFactory(scratch_database, producer="test")
    first, again = uuid.uuid4(), uuid.uuid4()
    async with units() as uow:
        assert await claim(uow, consumer="c", event_id=first, event_type="t")
        assert not await claim(uow, consumer="c", event_id=first, event_type="t")  # a redelivery
        assert await claim_all(uow, consumer="c", events=[(first, "t"), (again, "t"), (again, "t")]) == {
            again
        }
        await uow.emit(_closed())
    assert through_sqlalchemy == []
    assert await _count(scratch_database, INBOX) == 2
    async with scratch_database.sessions() as session:
        envelope = await session.scalar(sa.select(OUTBOX.c.envelope))
    # the envelope is stored as a JSON document, not as a JSON string holding one
    assert envelope["type"] == "intake.referral.closed.v1" and envelope["payload"]["contact_made"] is True


async def test_the_driver_and_the_session_share_one_transaction_whichever_goes_first(scratch_database):
    units = UnitOfWorkFactory(scratch_database, producer="test")
    async with units() as uow:
        on_driver = await TRANSACTION.fetchval(uow, {})
        assert await uow.session.scalar(sa.select(sa.func.txid_current())) == on_driver
    async with units() as uow:
        in_session = await uow.session.scalar(sa.select(sa.func.txid_current()))
        assert await TRANSACTION.fetchval(uow, {}) == in_session


async def test_what_ran_on_the_driver_rolls_back_with_the_session(scratch_database):
    units = UnitOfWorkFactory(scratch_database, producer="test")
    with pytest.raises(RuntimeError):
        async with units() as uow:
            await claim(uow, consumer="c", event_id=uuid.uuid4(), event_type="t")
            await uow.emit(_closed())
            await uow.session.execute(
                sa.insert(INBOX).values(consumer="c", event_id=uuid.uuid4(), event_type="t")
            )
            raise RuntimeError("the handler failed")
    assert await _count(scratch_database, INBOX) == 0
    assert await _count(scratch_database, OUTBOX) == 0
    # a unit of work that commits part way (a loop's claim) goes on in a transaction of its own
    async with units() as uow:
        before = await TRANSACTION.fetchval(uow, {})
        await uow.commit()
        assert await TRANSACTION.fetchval(uow, {}) != before
        await uow.emit(_closed())
    assert await _count(scratch_database, OUTBOX) == 1


async def test_a_connection_cancelled_inside_a_driver_statement_is_not_handed_on(scratch_database):
    units = UnitOfWorkFactory(scratch_database, producer="test")
    used = []

    async def sleeps() -> None:
        async with units() as uow:
            used.append(await uow.driver())
            await SLEEP.execute(uow, {"seconds": 30})

    task = asyncio.create_task(sleeps())
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # rolled back and idle, or closed: never handed on inside the cancelled statement
    assert used[0].is_closed() or not used[0].is_in_transaction()
    for _ in range(3):  # every later unit of work has a clean connection (the pool's last one)
        async with units() as uow:
            await claim(uow, consumer="c", event_id=uuid.uuid4(), event_type="t")
    assert await _count(scratch_database, INBOX) == 3


async def test_a_statement_on_the_driver_is_counted_on_its_step_and_a_slow_one_has_a_span(scratch_database):
    """Operators read the database's share of a step on its span, and a slow statement's
    text on a span of its own: the statements on the driver, which SQLAlchemy's events do
    not see, are counted as the session's are."""
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    spans = SqlSpans(slow_ms=0)  # every statement is slow
    spans._tracer = provider.get_tracer("test")
    spans.instrument(scratch_database.engine.sync_engine)
    units = UnitOfWorkFactory(scratch_database, producer="test")
    with provider.get_tracer("test").start_as_current_span("event consumed"):
        async with units() as uow:
            await claim(uow, consumer="c", event_id=uuid.uuid4(), event_type="t")
            await uow.emit(_closed())
    *slow, step = exported.get_finished_spans()
    assert step.name == "event consumed" and step.attributes["db.statements"] == 2
    assert [s.name for s in slow] == ["slow INSERT", "slow INSERT"]
    assert "inbox" in slow[0].attributes["db.statement"] and "$1" in slow[0].attributes["db.statement"]
    assert all(s.parent.span_id == step.context.span_id for s in slow)


def test_a_statement_whose_values_are_expanded_at_each_run_is_refused_when_compiled():
    """An IN list expanded at each run has a different text each time: it cannot be one
    prepared statement, and would otherwise fail only when it first ran."""
    from sqlalchemy.ext.asyncio import create_async_engine

    names = DriverStatement(
        sa.select(INBOX).where(INBOX.c.consumer.in_(sa.bindparam("names", expanding=True)))
    )
    with pytest.raises(ValueError, match="expanded at each run"):
        names.compiled(create_async_engine("postgresql+asyncpg://nobody@nowhere/none"))  # never connects


async def test_a_look_at_the_timers_with_none_due_is_one_statement_on_the_driver(scratch_database):
    """At rest every look found nothing due, through the session's claim and a second read:
    the service's largest cost with nothing happening. Now a look reads when the next timer
    is due, on the driver and in no transaction, and fires only when one is."""
    table = timers.timer_table("page_timer", sa.MetaData(), sa.Column("step", sa.Integer))
    async with scratch_database.engine.begin() as connection:
        await connection.run_sync(table.metadata.create_all)
    units = UnitOfWorkFactory(scratch_database, producer="test")
    fired: list[int] = []

    async def fire(uow) -> int:  # type: ignore[no-untyped-def]
        due = await timers.claim_due(uow.session, table, datetime.now(UTC))
        fired.extend(row.step for row in due)
        return len(due)

    loop = timers.TimerLoop(units, table, fire)
    later = datetime.now(UTC) + timedelta(seconds=30)
    async with units() as uow:
        await timers.start(uow, table, due_at=later, step=1)

    async with round_trips(scratch_database) as sent:
        assert await loop.step() == 0
    assert fired == []
    assert [s.split()[0] for s in sent] == ["SELECT"]  # the next due, not even a BEGIN
    rest = await loop.rest()
    assert rest is not None and 28 < rest <= 30

    async with units() as uow:
        await timers.start(uow, table, due_at=datetime.now(UTC) - timedelta(seconds=1), step=2)
    assert await loop.step() == 1
    assert fired == [2]
    rest = await loop.rest()
    assert rest is not None and 28 < rest <= 30  # the one still running, read after the fire


async def test_rows_from_the_driver_read_as_the_sessions_do(scratch_database):
    """Code written against the session's rows reads the driver's by attribute, with the
    same values: JSON decoded, ids as UUIDs, a type of our own read as it reads itself."""
    async with UnitOfWorkFactory(scratch_database, producer="test")() as uow:
        await uow.emit(_closed())
    statement = DriverStatement(sa.select(OUTBOX.c.event_id, OUTBOX.c.envelope, OUTBOX.c.topic))
    async with UnitOfWorkFactory(scratch_database, producer="test")() as uow:
        (row,) = await statement.rows(uow, {})
        (session_row,) = (await uow.session.execute(statement.statement)).all()
    assert row.event_id == session_row.event_id
    assert isinstance(row.event_id, uuid.UUID)
    assert row.envelope == session_row.envelope and isinstance(row.envelope, dict)
    assert row.topic == session_row.topic

    class Shouted(sa.types.TypeDecorator[str]):
        """A type of our own, read differently from the text the server sends."""

        impl = sa.Text
        cache_ok = True

        def process_result_value(self, value: str | None, dialect: object) -> str | None:
            return None if value is None else value.upper()

    shouted = DriverStatement(sa.select(sa.type_coerce(OUTBOX.c.topic, Shouted()).label("topic")))
    async with UnitOfWorkFactory(scratch_database, producer="test")() as uow:
        (row,) = await shouted.rows(uow, {})
        assert row.topic == await uow.session.scalar(shouted.statement) == session_row.topic.upper()
    async with UnitOfWorkFactory(scratch_database, producer="test")() as uow:
        assert await DriverStatement(statement.statement.where(sa.false())).rows(uow, {}) == []
