"""Late events of published months, published as documented corrections (README, "What
programs learn"): a month once published never changes; what arrives for it later is counted
and, at the next monthly publication, published as that month's next correction, a table of
its own protected as any month is. Never a silent change, and never a difference of two
versions of one table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import tables as t
from metrics.publication import Cell, correction_period, late, publish_correction, quarter_of

_BATCH = 5_000


async def _counts(session: AsyncSession, table: sa.Table, month: str) -> dict[tuple[str, str, str], int]:
    rows = await session.execute(
        sa.select(table.c.site_id, table.c.measure, table.c.dimension, table.c.value).where(
            table.c.period == month
        )
    )
    return {(r.site_id, r.measure, r.dimension): int(r.value) for r in rows}


async def _regions(session: AsyncSession, month: str) -> dict[str, str]:
    """The month's regions, as its quarter was grouped when its first month was published."""
    query = sa.select(t.quarter_directory.c.sites).where(t.quarter_directory.c.quarter == quarter_of(month))
    sites = (await session.execute(query)).scalar() or {}
    return {site: entry["region"] for site, entry in dict(sites).items() if entry.get("region")}


async def publish_corrections(
    session: AsyncSession, now: datetime, threshold: Callable[[Cell], int], *, besides: set[str]
) -> list[str]:
    """A correction of each published month (but those in ``besides``, published just now)
    for which events came after it was published and last corrected. Run by the publisher,
    under its lock, once per month it publishes."""
    months = sorted(
        m for m in (await session.execute(sa.select(t.published_month.c.month))).scalars() if m not in besides
    )
    published = []
    for month in months:
        counted: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        for table in (t.closed_count, t.corrected_count):
            for key, n in (await _counts(session, table, month)).items():
                counted[key] += n
        more = late(await _counts(session, t.aggregate, month), counted)
        if not more:
            continue
        number = 1 + int(
            (
                await session.execute(
                    sa.select(sa.func.count()).where(t.published_correction.c.month == month)
                )
            ).scalar()
            or 0
        )
        stage = publish_correction(more, month, number, threshold, regions=await _regions(session, month))
        period = correction_period(month, number)
        rows = [
            {"scope": c[0], "measure": c[1], "dimension": c[2], "period": c[3], "value": n}
            | {"withheld": c in stage.withheld}
            for c, n in stage.values.items()
        ]
        for i in range(0, len(rows), _BATCH):
            await session.execute(insert(t.published_cell).values(rows[i : i + _BATCH]))
        for (site, measure, dimension), n in more.items():
            await session.execute(
                insert(t.corrected_count)
                .values(site_id=site, period=month, measure=measure, dimension=dimension, value=n)
                .on_conflict_do_update(
                    index_elements=["site_id", "period", "measure", "dimension"],
                    set_={"value": t.corrected_count.c.value + n},
                )
            )
        await session.execute(
            insert(t.published_correction).values(period=period, month=month, number=number, published_at=now)
        )
        published.append(period)
    return published
