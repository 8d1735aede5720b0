"""Durable timers: rows with ``due_at``, ``fired_at`` and ``cancelled_at``.

A timer is claimed and marked fired in the transaction that acts on it, so it acts exactly
once, across crashes and restarts; SKIP LOCKED lets several replicas share the work. The
loop that fires them sleeps until the next is due (``next_due``), and a timer started by
this replica wakes it when its transaction commits (``start``): a poll every quarter of a
second cost an idle service more than anything else it did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.driver import DriverStatement, named_values

if TYPE_CHECKING:
    from servicekit.database import UnitOfWork, UnitOfWorkFactory

_RUNNING = "fired_at IS NULL AND cancelled_at IS NULL"


def timer_table(name: str, metadata: sa.MetaData, *columns: sa.Column[Any]) -> sa.Table:
    """A service's timer table: its own ``columns`` (what the timer is about, its kind)
    between the id and the clock every timer has, with the index the claim walks."""
    return sa.Table(
        name,
        metadata,
        sa.Column("timer_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        *columns,
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True)),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
        sa.Index(f"ix_{name}_due", "due_at", postgresql_where=sa.text(_RUNNING)),
    )


def started(timers: sa.Table) -> str:
    """The signal a commit that started a timer of ``timers`` gives its loop."""
    return f"timers.{timers.name}"


# a loop firing timers looks at least this often; a timer due later is seen at a look anyway
LOOKS_WITHIN = timedelta(seconds=2)


async def start(uow: UnitOfWork, timers: sa.Table, *, due_at: datetime, **values: Any) -> None:
    """A timer of ``timers`` (its columns' ``values``). One due before the loop's next look
    wakes the loop when this commits; any other waits for a look (a wake for every page of a
    burst was two transactions more for each)."""
    await start_all(uow, timers, [{"due_at": due_at, **values}])


@cache
def _insert_into(timers: sa.Table, columns: tuple[str, ...]) -> DriverStatement:
    """Built once for each table of timers and the columns given, on the driver, as every
    statement on an event's path."""
    return DriverStatement(sa.insert(timers).values(named_values(timers, columns)))


async def start_all(uow: UnitOfWork, timers: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Several timers of ``timers`` in one statement (each row has its ``due_at``): a case's
    clocks and its first page's timer start together, and each statement is a round trip."""
    if not rows:
        return
    await _insert_into(timers, tuple(rows[0])).executemany(uow, rows)
    soonest = min(row["due_at"] for row in rows)
    if soonest - datetime.now(soonest.tzinfo) < LOOKS_WITHIN:
        uow.signal_after_commit(started(timers))


@cache
def _next_due_of(timers: sa.Table) -> DriverStatement:
    return DriverStatement(
        sa.select(sa.func.min(timers.c.due_at)).where(
            timers.c.fired_at.is_(None), timers.c.cancelled_at.is_(None)
        )
    )


async def next_due(uow: UnitOfWork, timers: sa.Table) -> datetime | None:
    """When the next running timer of ``timers`` is due (None: none is running)."""
    return await _next_due_of(timers).fetchval(uow, {})  # type: ignore[no-any-return]


class TimerLoop:
    """What a loop firing the timers of ``timers`` runs (``repeat(loop.step, rest=loop.rest)``):
    ``fire`` acts on what is due, and the same transaction reads when the next timer is due,
    so the rest asks the database nothing (a look was two transactions, every two seconds, in
    every service with timers). A look that finds nothing due is that one read, on the driver
    and in no transaction (a BEGIN and a COMMIT were two round trips more): most looks, at
    rest, and the session's claim cost several times more."""

    def __init__(
        self, units: UnitOfWorkFactory, timers: sa.Table, fire: Callable[[UnitOfWork], Awaitable[int]]
    ) -> None:
        self.units = units
        self.timers = timers
        self.fire = fire
        self._next: datetime | None = None

    async def step(self) -> int:
        done = 0
        async with self.units.autocommit() as look:
            soonest = await next_due(look, self.timers)
        if soonest is not None and soonest <= datetime.now(UTC):
            async with self.units() as uow:
                done = await self.fire(uow)
                soonest = await next_due(uow, self.timers)
        self._next = soonest
        return done

    async def rest(self) -> float | None:
        """Seconds until the next running timer is due, as the last step saw (None: none)."""
        if self._next is None:
            return None
        return (self._next - datetime.now(self._next.tzinfo)).total_seconds()


async def cancel(
    session: AsyncSession, timers: sa.Table, now: datetime, *where: sa.ColumnElement[bool]
) -> None:
    """Stop the timers of ``timers`` matching ``where`` that have neither fired nor stopped."""
    await session.execute(
        sa.update(timers)
        .where(*where, timers.c.fired_at.is_(None), timers.c.cancelled_at.is_(None))
        .values(cancelled_at=now)
    )


async def claim_due(
    session: AsyncSession, timers: sa.Table, now: datetime, *, limit: int = 50
) -> Sequence[Any]:
    """The due timers of ``timers`` (oldest first), locked and marked fired in the caller's
    transaction: the caller acts on them and commits, or rolls back and they come again."""
    due = (
        await session.execute(
            sa.select(timers)
            .where(timers.c.fired_at.is_(None), timers.c.cancelled_at.is_(None), timers.c.due_at <= now)
            .order_by(timers.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if due:
        ids = [row.timer_id for row in due]
        await session.execute(sa.update(timers).where(timers.c.timer_id.in_(ids)).values(fired_at=now))
    return due
