"""metrics' use cases, as plain functions over a unit of work."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from contracts import Envelope, Event
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import tables as t
from metrics.aggregation import GAUGES, Tally
from metrics.publication import (
    Cell,
    Published,
    gauges,
    is_quarter,
    last_closed_month,
    months_between,
    months_of,
    next_month,
    publish_month,
    quarter_of,
    statistics,
)

_BATCH = 5_000  # rows per INSERT of published cells: within asyncpg's 32767 parameters


async def count(event: Event, uow: UnitOfWork, envelope: Envelope) -> None:
    tally = Tally()
    tally.add(event, envelope.site_id, envelope.occurred_at)
    await store(uow.session, tally)


async def store(session: AsyncSession, tally: Tally) -> None:
    """Add one event's tally to the live counts (a rebuild writes its own tables by COPY)."""
    if tally.counts:
        add = insert(t.aggregate).values(
            [
                {"site_id": site, "period": month, "measure": m, "dimension": d, "value": n}
                for (site, month, m, d), n in tally.counts.items()
            ]
        )
        await session.execute(
            add.on_conflict_do_update(
                index_elements=["site_id", "period", "measure", "dimension"],
                set_={"value": t.aggregate.c.value + add.excluded.value},
            )
        )
    if tally.distributions:
        seen = insert(t.distribution).values(
            [
                {"site_id": site, "period": month, "measure": m, "value": v, "count": n}
                for (site, month, m, v), n in tally.distributions.items()
            ]
        )
        await session.execute(
            seen.on_conflict_do_update(
                index_elements=["site_id", "period", "measure", "value"],
                set_={"count": t.distribution.c.count + seen.excluded["count"]},
            )
        )


def _batches(rows: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), _BATCH):
        yield rows[start : start + _BATCH]


# --- publication -------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicationPolicy:
    grace: timedelta  # a month closes this long after it ends
    k: int
    threshold: Callable[[Cell], int]  # k, or stricter for some measures


async def publish_next_month(uow: UnitOfWork, policy: PublicationPolicy, now: datetime) -> int:
    """Publish the oldest month that has closed and is not published yet (1), or nothing (0).
    Run by the background loop, one month per transaction."""
    published = await publish_closed_months(uow, policy, now, limit=1)
    await uow.commit()
    return len(published)


async def publish_closed_months(
    uow: UnitOfWork, policy: PublicationPolicy, now: datetime, *, limit: int | None = None
) -> list[str]:
    """Publish, in order, the months that closed since the last one was. Once published a
    month never changes: a late event is counted but not shown."""
    session = uow.session
    # one publisher at a time: another replica that holds the lock is already at it
    if not (
        await session.execute(sa.text("SELECT pg_try_advisory_xact_lock(hashtext('metrics.publication'))"))
    ).scalar():
        return []
    last = last_closed_month(now, policy.grace)
    done = set((await session.execute(sa.select(t.published_month.c.month))).scalars())
    if done:
        # onwards from the last published month: an older month left unpublished (no event
        # had come for it when a later one closed) stays unpublished
        first: str | None = next_month(max(done))
    else:
        first = (await session.execute(sa.select(sa.func.min(t.aggregate.c.period)))).scalar()
    if first is None or first > last:
        return []
    published = []
    for month in months_between(first, last)[:limit]:
        if month not in done:
            await _publish_month(session, month, now, policy, done)
            done.add(month)
            published.append(month)
    return published


async def _publish_month(
    session: AsyncSession,
    month: str,
    now: datetime,
    policy: PublicationPolicy,
    done: set[str],
) -> None:
    quarter = quarter_of(month)
    months = months_of(quarter)
    earlier = months[: months.index(month)]
    for before in earlier:
        # a late event of a month that had nothing when its quarter moved on: never shown
        if before not in done:
            await session.execute(insert(t.published_month).values(month=before, published_at=now))
            done.add(before)
    columns = ["site_id", "period", "measure", "dimension", "value"]
    await session.execute(  # copied inside the database: a month of 300 sites is many rows
        insert(t.closed_count)
        .from_select(
            columns,
            sa.select(*(t.aggregate.c[c] for c in columns)).where(
                t.aggregate.c.period == month, t.aggregate.c.measure.not_in(list(GAUGES))
            ),
        )
        .on_conflict_do_nothing()
    )
    closed = (
        await session.execute(sa.select(t.closed_count).where(t.closed_count.c.period.in_([*earlier, month])))
    ).all()
    counts = {(r.site_id, r.measure, r.dimension, r.period): r.value for r in closed}
    before_cells = (
        await session.execute(sa.select(t.published_cell).where(t.published_cell.c.period.in_(earlier)))
    ).all()
    stage = publish_month(
        counts,
        month,
        policy.threshold,
        earlier={(r.scope, r.measure, r.dimension, r.period): r.withheld for r in before_cells},
    )
    cells: Published = {c: (n, c in stage.withheld) for c, n in stage.values.items()}
    changes = await _changes(session, month)  # the quarter's level is its last month's
    last_of_quarter = month == months[-1]
    for period, of_months in [(month, [month]), *([(quarter, months)] if last_of_quarter else [])]:
        cells |= statistics(await _distributions(session, of_months), period, policy.k)
        cells |= gauges(changes, period, policy.k)
    rows = [
        {"scope": s, "measure": m, "dimension": d, "period": p, "value": n, "withheld": w}
        for (s, m, d, p), (n, w) in cells.items()
    ]
    for batch in _batches(rows):
        await session.execute(insert(t.published_cell).values(batch))
    await session.execute(insert(t.published_month).values(month=month, published_at=now))


async def _distributions(session: AsyncSession, months: list[str]) -> Counter[tuple[str, str, int]]:
    rows = await session.execute(
        sa.select(
            t.distribution.c.site_id, t.distribution.c.measure, t.distribution.c.value, t.distribution.c.count
        ).where(t.distribution.c.period.in_(months))
    )
    out: Counter[tuple[str, str, int]] = Counter()
    for site, measure, value, n in rows:
        out[(site, measure, value)] += n
    return out


async def _changes(session: AsyncSession, month: str) -> Mapping[tuple[str, str], int]:
    rows = await session.execute(
        sa.select(t.aggregate.c.site_id, t.aggregate.c.measure, sa.func.sum(t.aggregate.c.value))
        .where(t.aggregate.c.measure.in_(list(GAUGES)), t.aggregate.c.period <= month)
        .group_by(t.aggregate.c.site_id, t.aggregate.c.measure)
    )
    return {(site, measure): int(n) for site, measure, n in rows}


class NotPublishedYet(Exception):
    """The period has not closed: nothing of it is shown before it does."""


class NeverPublished(Exception):
    """The period came before anything was counted."""


async def published(uow: UnitOfWork, period: str, scopes: list[str] | None) -> list[dict[str, Any]]:
    """The published cells of a month or a quarter, for some scopes (None: every one)."""
    session = uow.session
    last_month = months_of(period)[-1] if is_quarter(period) else period
    if not (
        await session.execute(sa.select(t.published_month).where(t.published_month.c.month == last_month))
    ).first():
        first = (await session.execute(sa.select(sa.func.min(t.published_month.c.month)))).scalar()
        if first is not None and last_month < first:
            raise NeverPublished(period)
        raise NotPublishedYet(period)
    query = sa.select(t.published_cell).where(t.published_cell.c.period == period)
    if scopes is not None:
        query = query.where(t.published_cell.c.scope.in_(scopes))
    rows = await session.execute(
        query.order_by(t.published_cell.c.scope, t.published_cell.c.measure, t.published_cell.c.dimension)
    )
    return [
        {
            "scope": r.scope,
            "measure": r.measure,
            "dimension": r.dimension,
            "value": None if r.withheld else r.value,
            "withheld": r.withheld,
        }
        for r in rows
    ]


async def published_periods(uow: UnitOfWork) -> list[str]:
    months = sorted((await uow.session.execute(sa.select(t.published_month.c.month))).scalars())
    quarters = sorted({quarter_of(m) for m in months if months_of(quarter_of(m))[-1] in months})
    return months + quarters
