"""metrics' use cases, as plain functions over a unit of work."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from contracts import Envelope, Event
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert

from metrics import tables as t
from metrics.aggregation import increments, observations, period, publishable


async def count(event: Event, uow: UnitOfWork, envelope: Envelope) -> None:
    for inc in increments(event):
        stmt = insert(t.aggregate).values(
            site_id=envelope.site_id,
            period=period(envelope.occurred_at),
            measure=inc.measure,
            dimension=inc.dimension,
            value=inc.amount,
        )
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["site_id", "period", "measure", "dimension"],
                set_={"value": t.aggregate.c.value + stmt.excluded.value},
            )
        )
    for seen in observations(event):
        add = insert(t.distribution).values(
            site_id=envelope.site_id,
            period=period(envelope.occurred_at),
            measure=seen.measure,
            value=seen.value,
            count=1,
        )
        await uow.session.execute(
            add.on_conflict_do_update(
                index_elements=["site_id", "period", "measure", "value"],
                set_={"count": t.distribution.c.count + 1},
            )
        )


async def site_aggregates(
    uow: UnitOfWork, site_id: str, month: str, *, suppress_below: int
) -> list[dict[str, Any]]:
    rows = (
        await uow.session.execute(
            sa.select(t.aggregate)
            .where(t.aggregate.c.site_id == site_id, t.aggregate.c.period == month)
            .order_by(t.aggregate.c.measure, t.aggregate.c.dimension)
        )
    ).all()
    return [
        {
            "measure": r.measure,
            "dimension": r.dimension,
            "value": publishable(r.value, suppress_below=suppress_below),
            "suppressed": publishable(r.value, suppress_below=suppress_below) is None,
        }
        for r in rows
    ]
