"""Loads the facts a decision needs from matching's own tables."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from contracts.types import DutyLayer
from sqlalchemy.ext.asyncio import AsyncSession

from matching import tables as t
from matching.rules import Candidate, Person, evaluators_of


def _person(row: sa.Row[tuple[object, ...]]) -> Person:
    return Person(
        staff_ref=str(row.staff_ref),
        site_id=str(row.site_id),
        profession=str(row.profession),
        seniority=int(row.seniority),  # type: ignore[call-overload]
        years_experience=int(row.years_experience),  # type: ignore[call-overload]
        languages=frozenset(row.languages or ()),  # type: ignore[arg-type]
        gender=row.gender,  # type: ignore[arg-type]
    )


async def person(session: AsyncSession, staff_ref: str) -> Person | None:
    row = (await session.execute(sa.select(t.person).where(t.person.c.staff_ref == staff_ref))).first()
    return _person(row) if row else None


async def evaluators(session: AsyncSession, worker: str) -> frozenset[str]:
    # the reporting line is short; walk it with one query per level
    reports_to: dict[str, str | None] = {}
    current: str | None = worker
    while current is not None and current not in reports_to:
        boss = await session.scalar(sa.select(t.person.c.reports_to).where(t.person.c.staff_ref == current))
        reports_to[current] = boss
        current = boss
    declared = (
        await session.scalars(
            sa.select(t.evaluator.c.evaluator_ref).where(t.evaluator.c.evaluatee_ref == worker)
        )
    ).all()
    return evaluators_of(worker, reports_to, {worker: declared})


async def candidates(
    session: AsyncSession, site_id: str, *, now: datetime, window_days: int
) -> list[Candidate]:
    """Every supporter of the site's roster, with eligibility, duty and recent load."""
    since = now - timedelta(days=window_days)
    recent = (
        sa.select(
            t.deployment.c.staff_ref,
            sa.func.count().filter(t.deployment.c.deployed_at >= since).label("recent"),
            sa.func.max(t.deployment.c.seq).label("last_seq"),
        )
        .group_by(t.deployment.c.staff_ref)
        .subquery()
    )
    query = (
        sa.select(
            t.person,
            t.supporter.c.paused,
            t.supporter.c.mental_health_professional,
            t.supporter.c.dual_relationships,
            sa.func.coalesce(t.eligibility.c.eligible, False).label("eligible"),
            t.duty.c.layer.label("duty_layer"),
            sa.func.coalesce(recent.c.recent, 0).label("recent"),
            sa.func.coalesce(recent.c.last_seq, 0).label("last_seq"),
        )
        .join(t.supporter, t.supporter.c.staff_ref == t.person.c.staff_ref)
        .outerjoin(t.eligibility, t.eligibility.c.staff_ref == t.person.c.staff_ref)
        .outerjoin(t.duty, sa.and_(t.duty.c.staff_ref == t.person.c.staff_ref, t.duty.c.site_id == site_id))
        .outerjoin(recent, recent.c.staff_ref == t.person.c.staff_ref)
        .where(t.person.c.site_id == site_id)
    )
    result = []
    for row in (await session.execute(query)).all():
        result.append(
            Candidate(
                person=_person(row),
                eligible=bool(row.eligible),
                paused=bool(row.paused),
                mental_health_professional=bool(row.mental_health_professional),
                deployments_in_window=int(row.recent),
                last_deployed_seq=int(row.last_seq),
                on_duty=DutyLayer(row.duty_layer) if row.duty_layer else None,
                dual_relationships=frozenset(row.dual_relationships or ()),
            )
        )
    return result
