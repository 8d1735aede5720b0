"""metrics' use cases, as plain functions over a unit of work."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from contracts import Envelope, Event
from servicekit.database import UnitOfWork
from servicekit.driver import DriverStatement
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import corrections
from metrics import tables as t
from metrics.aggregation import GAUGES, RETIRED, TOTAL, Tally
from metrics.publication import (
    AUTHORITY,
    Cell,
    Published,
    Regions,
    gauges,
    grouped,
    is_quarter,
    last_closed_month,
    months_between,
    months_of,
    next_month,
    publish_month,
    quarter_of,
    region_scope,
    statistics,
)

_BATCH = 5_000  # rows per INSERT of published cells: within asyncpg's 32767 parameters


async def count(event: Event, uow: UnitOfWork, envelope: Envelope) -> None:
    tally = Tally()
    tally.add(event, envelope.site_id, envelope.occurred_at)
    await store(uow, tally)


async def store(uow: UnitOfWork, tally: Tally) -> None:
    """Add one event's tally to the live counts (a rebuild writes its own tables by COPY),
    on the driver: this is every event's path. The rows go as parameters of one statement
    built once, sent together."""
    counts = [
        {"site_id": site, "period": month, "measure": m, "dimension": d, "value": n}
        for (site, month, m, d), n in tally.counts.items()
    ]
    values = [
        {"site_id": site, "period": month, "measure": m, "value": v, "count": n}
        for (site, month, m, v), n in tally.distributions.items()
    ]
    for statement, rows in ((_ADD_TO_COUNTS, counts), (_ADD_TO_DISTRIBUTIONS, values)):
        if rows:
            await statement.executemany(uow, rows)


def _adding_to(table: sa.Table, total: str) -> sa.Insert:
    """Insert the rows, or add each one's ``total`` to the row already under its key."""
    add = insert(table)
    return add.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key],
        set_={total: table.c[total] + add.excluded[total]},
    )


# built once, on the driver: a statement built anew on every event had its cache key derived
# anew from the whole statement, a sixth of what metrics did under load
_ADD_TO_COUNTS = DriverStatement(_adding_to(t.aggregate, "value"))
_ADD_TO_DISTRIBUTIONS = DriverStatement(_adding_to(t.distribution, "count"))


def _batches(rows: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), _BATCH):
        yield rows[start : start + _BATCH]


# --- publication -------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicationPolicy:
    grace: timedelta  # a month closes this long after it ends
    # k, or stricter for some measures: one threshold for counts, gauges and statistics
    threshold: Callable[[Cell], int]


async def publish_next_month(uow: UnitOfWork, policy: PublicationPolicy, now: datetime) -> int:
    """Publish the oldest month that has closed and is not published yet (1), or nothing (0).
    Run by the background loop, one month per transaction."""
    published = await publish_closed_months(uow, policy, now, limit=1)
    return len(published)


async def publish_closed_months(
    uow: UnitOfWork, policy: PublicationPolicy, now: datetime, *, limit: int | None = None
) -> list[str]:
    """Publish, in order, the months that closed since the last one was. Once published a
    month never changes: its late events are published with the next month, as its
    correction (metrics.corrections)."""
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
    if published:  # late events of the months before ride along, as their corrections
        await corrections.publish_corrections(session, now, policy.threshold, besides=set(published))
    return published


async def publish_corrections_now(uow: UnitOfWork, policy: PublicationPolicy, now: datetime) -> list[str]:
    """The operator's `pss-metrics publish`: every published month's late events as its next
    correction now, without waiting for the next month to close."""
    if not (
        await uow.session.execute(
            sa.text("SELECT pg_try_advisory_xact_lock(hashtext('metrics.publication'))")
        )
    ).scalar():
        return []
    return await corrections.publish_corrections(uow.session, now, policy.threshold, besides=set())


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
    regions = _regions(await _directory_of(session, quarter, begun=any(m in done for m in earlier)))
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
                t.aggregate.c.period == month, t.aggregate.c.measure.not_in([*GAUGES, *RETIRED])
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
        regions=regions,
    )
    cells: Published = {c: (n, c in stage.withheld) for c, n in stage.values.items()}

    def shown(cell: Cell) -> bool:
        return cell in stage.values and cell not in stage.withheld

    changes = await _changes(session, month)  # the quarter's level is its last month's
    last_of_quarter = month == months[-1]
    for period, of_months in [(month, [month]), *([(quarter, months)] if last_of_quarter else [])]:
        cells |= statistics(
            await _distributions(session, of_months), period, policy.threshold, regions, shown=shown
        )
        cells |= gauges(changes, period, policy.threshold, regions)
    rows = [
        {"scope": s, "measure": m, "dimension": d, "period": p, "value": n, "withheld": w}
        for (s, m, d, p), (n, w) in cells.items()
    ]
    for batch in _batches(rows):
        await session.execute(insert(t.published_cell).values(batch))
    await session.execute(insert(t.published_month).values(month=month, published_at=now))


Directory = dict[str, dict[str, Any]]  # site -> {"region": ..., "staff_count": ...}


async def _directory_of(session: AsyncSession, quarter: str, *, begun: bool = False) -> Directory:
    """The site directory a quarter is published by: copied from the live one when its
    first month is published, then never changed. A quarter already begun without a copy
    (published before there was a directory) stays ungrouped, as its first months were."""
    if (stored := await _copied(session, quarter)) is not None:
        return stored
    copy: Directory = {}
    if not begun:
        rows = await session.execute(sa.select(t.site))
        copy = {r.site_id: {"region": r.region, "staff_count": r.staff_count} for r in rows}
    await session.execute(insert(t.quarter_directory).values(quarter=quarter, sites=copy))
    return copy


def _regions(directory: Directory) -> Regions:
    return {site: entry["region"] for site, entry in directory.items() if entry.get("region")}


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


class NoSuchCorrection(Exception):
    """No correction of that name was published."""


CORRECTION = re.compile(r"^(\d{4}-\d{2})-correction-([1-9]\d{0,3})$")


async def published(uow: UnitOfWork, period: str, scopes: list[str] | None) -> list[dict[str, Any]]:
    """The published cells of a month or a quarter, for some scopes (None: every one), and
    the reach of each scope whose referrals are published and whose staff are known."""
    session = uow.session
    correction = CORRECTION.match(period)
    last_month = months_of(period)[-1] if is_quarter(period) else period
    if correction is not None:
        known = sa.select(t.published_correction).where(t.published_correction.c.period == period)
        if not (await session.execute(known)).first():
            raise NoSuchCorrection(period)
    elif not (
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
    cells = [
        {
            "scope": r.scope,
            "measure": r.measure,
            "dimension": r.dimension,
            "value": None if r.withheld else r.value,
            "withheld": r.withheld,
        }
        for r in rows
    ]
    # reach is of a period's referrals; a correction's late few are no rate
    directory = {} if correction else await _stored_directory(session, period)
    return sorted(cells + reach(cells, directory), key=lambda c: (c["scope"], c["measure"], c["dimension"]))


async def nothing_counted(uow: UnitOfWork, period: str) -> bool:
    """No event was ever counted for the period's months: once closed, what is known of it
    is that nothing happened, and there is nothing to wait for."""
    months = months_of(period) if is_quarter(period) else [period]
    found = await uow.session.execute(
        sa.select(t.aggregate.c.period).where(t.aggregate.c.period.in_(months)).limit(1)
    )
    return found.first() is None


REACH = "reach"


def reach(cells: list[dict[str, Any]], directory: Directory) -> list[dict[str, Any]]:
    """Referrals per 100 staff, derived from a published referrals total: for a site with
    a staff count, a region or the authority when every site in it has one. Withheld where
    the total is (staff counts are public; with them reach would give the total away)."""
    staff = {site: entry.get("staff_count") for site, entry in directory.items()}
    groups = grouped(_regions(directory))
    named = {c["scope"] for c in cells} - {AUTHORITY, *groups}
    out = []
    for c in cells:
        if c["measure"] != "referrals" or c["dimension"] != TOTAL:
            continue
        scope = c["scope"]
        sites = groups.get(scope) or (sorted(set(staff) | named) if scope == AUTHORITY else [scope])
        counts = [staff.get(site) for site in sites]
        if not counts or None in counts:
            continue
        value = None if c["withheld"] else round(100 * c["value"] / sum(counts), 1)  # type: ignore[arg-type]
        out.append(
            {
                "scope": scope,
                "measure": REACH,
                "dimension": "per_100_staff",
                "value": value,
                "withheld": c["withheld"],
            }
        )
    return out


async def _copied(session: AsyncSession, quarter: str) -> Directory | None:
    query = sa.select(t.quarter_directory.c.sites).where(t.quarter_directory.c.quarter == quarter)
    stored = (await session.execute(query)).scalar()
    return None if stored is None else dict(stored)


async def _stored_directory(session: AsyncSession, period: str) -> Directory:
    return await _copied(session, period if is_quarter(period) else quarter_of(period)) or {}


async def region_of(uow: UnitOfWork, site: str, period: str) -> str | None:
    """The region scope a site was published in for a period, if its region was grouped."""
    regions = _regions(await _stored_directory(uow.session, period))
    scope = region_scope(regions[site]) if site in regions else None
    return scope if scope in grouped(regions) else None


# --- the site directory --------------------------------------------------------------------


async def put_site(
    uow: UnitOfWork, site_id: str, region: str | None, staff_count: int | None, now: datetime
) -> None:
    """Takes effect from the next quarter whose first month is published (_directory_of)."""
    entry = {"region": region, "staff_count": staff_count, "updated_at": now}
    await uow.session.execute(
        insert(t.site)
        .values(site_id=site_id, **entry)
        .on_conflict_do_update(index_elements=["site_id"], set_=entry)
    )


async def sites(uow: UnitOfWork) -> list[dict[str, Any]]:
    rows = await uow.session.execute(sa.select(t.site).order_by(t.site.c.site_id))
    return [{"site_id": r.site_id, "region": r.region, "staff_count": r.staff_count} for r in rows]


async def published_periods(uow: UnitOfWork) -> list[str]:
    """Months, each followed by its corrections, then quarters."""
    months = sorted((await uow.session.execute(sa.select(t.published_month.c.month))).scalars())
    quarters = sorted({quarter_of(m) for m in months if months_of(quarter_of(m))[-1] in months})
    fixes = (
        await uow.session.execute(sa.select(t.published_correction.c.month, t.published_correction.c.number))
    ).all()
    corrections = [(str(r.month), int(r.number)) for r in fixes]
    ordered = sorted([(m, 0) for m in months] + corrections)
    return [m if n == 0 else f"{m}-correction-{n}" for m, n in ordered] + quarters
