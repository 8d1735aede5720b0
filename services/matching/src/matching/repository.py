"""Loads the facts a decision needs from matching's own tables."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from contracts.types import DutyLayer
from sqlalchemy.ext.asyncio import AsyncSession

from matching import tables as t
from matching.rules import (
    DEFAULT_WEIGHTS,
    Candidate,
    Person,
    PoolScope,
    Preference,
    Setting,
    evaluators_of,
)


@dataclass(frozen=True)
class SiteFacts:
    site_id: str
    region: str | None = None
    setting: Setting | None = None
    weights: Mapping[Preference, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)


_SETTINGS = {s.value: s for s in Setting}


def _person(row: sa.RowMapping) -> Person:
    setting = row["setting"]
    return Person(
        staff_ref=row["staff_ref"],
        site_id=row["site_id"],
        profession=row["profession"],
        seniority=row["seniority"],
        years_experience=row["years_experience"],
        languages=frozenset(row["languages"] or ()),
        gender=row["gender"],
        licence_level=row["licence_level"] or 0,
        region=row["region"],
        setting=_SETTINGS[setting] if setting else None,
        unit=row["unit"],
    )


def _with_site(query: sa.Select[Any]) -> sa.Select[Any]:
    return query.add_columns(t.site.c.region, t.site.c.setting).outerjoin(
        t.site, t.site.c.site_id == t.person.c.site_id
    )


async def person(session: AsyncSession, staff_ref: str) -> Person | None:
    query = _with_site(sa.select(t.person)).where(t.person.c.staff_ref == staff_ref)
    row = (await session.execute(query)).mappings().first()
    return _person(row) if row else None


async def site(session: AsyncSession, site_id: str) -> SiteFacts:
    """A site matching has not been told about yet ranks with the default weights."""
    row = (await session.execute(sa.select(t.site).where(t.site.c.site_id == site_id))).first()
    if row is None:
        return SiteFacts(site_id)
    weights = {**DEFAULT_WEIGHTS, **{Preference(k): float(v) for k, v in (row.weights or {}).items()}}
    return SiteFacts(site_id, row.region, Setting(row.setting) if row.setting else None, weights)


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


_DUTY = {d.value: d for d in DutyLayer}
_SCOPES = {s.value: s for s in PoolScope}


@functools.cache
def _candidate_query(*, named: bool, wide: bool, regional: bool) -> sa.Select[Any]:
    """Built once per shape and reused with parameters (site_id, region, since, named):
    a decision is made often and must be quick (bench/matching_decision.py)."""
    # per supporter, through the (staff_ref, deployed_at) index: the cost follows the pool,
    # not the authority's whole deployment history
    mine = t.deployment.c.staff_ref == t.person.c.staff_ref
    recent = (
        sa.select(sa.func.count())
        .where(mine, t.deployment.c.deployed_at >= sa.bindparam("since"))
        .scalar_subquery()
    )
    last_seq = sa.select(sa.func.coalesce(sa.func.max(t.deployment.c.seq), 0)).where(mine).scalar_subquery()
    query = _with_site(
        sa.select(
            t.person,
            t.supporter.c.paused,
            t.supporter.c.mental_health_professional,
            t.supporter.c.dual_relationships,
            t.supporter.c.serves,
            sa.func.coalesce(t.eligibility.c.eligible, False).label("eligible"),
            t.duty.c.layer.label("duty_layer"),
            recent.label("recent"),
            last_seq.label("last_seq"),
        )
        .join(t.supporter, t.supporter.c.staff_ref == t.person.c.staff_ref)
        .outerjoin(t.eligibility, t.eligibility.c.staff_ref == t.person.c.staff_ref)
        # on duty at their own site counts, wherever the case is: they are at work now
        .outerjoin(
            t.duty,
            sa.and_(t.duty.c.staff_ref == t.person.c.staff_ref, t.duty.c.site_id == t.person.c.site_id),
        )
    )
    if named:
        return query.where(t.person.c.staff_ref.in_(sa.bindparam("named", expanding=True)))
    # the pool's references first, from the roster alone (where supporters are, how far
    # they serve); the rows are then fetched by primary key, so the cost follows the pool
    # and not the size of the directory
    branches = [t.supporter.c.site_id == sa.bindparam("site_id")]
    if wide:
        branches.append(t.supporter.c.serves == PoolScope.AUTHORITY.value)
    if wide and regional:
        branches.append(
            sa.and_(
                t.supporter.c.region == sa.bindparam("region"), t.supporter.c.serves == PoolScope.REGION.value
            )
        )
    reach = sa.select(t.supporter.c.staff_ref).where(sa.or_(*branches)).subquery("reach")
    return query.join(reach, reach.c.staff_ref == t.person.c.staff_ref)


async def candidates(
    session: AsyncSession,
    where: SiteFacts,
    *,
    now: datetime,
    window_days: int,
    only: Collection[str] | None = None,
    wide: bool = True,
) -> list[Candidate]:
    """Every supporter who could serve a case at this site at the widest pool (the site's
    own, the region's who serve the region, and everyone who serves the authority), with
    eligibility, duty and recent load; only the site's own when not ``wide``; or only the
    supporters named in ``only``."""
    query = _candidate_query(named=only is not None, wide=wide, regional=where.region is not None)
    params: dict[str, Any] = {"since": now - timedelta(days=window_days)}
    if only is not None:
        params["named"] = list(only)
    else:
        params["site_id"] = where.site_id
        if where.region is not None:
            params["region"] = where.region
    result: dict[str, Candidate] = {}
    for row in (await session.execute(query, params)).mappings():
        ref = row["staff_ref"]
        if ref in result and result[ref].on_duty is DutyLayer.PRIMARY:
            continue  # on both layers at once: the primary counts
        duty = row["duty_layer"]
        result[ref] = Candidate(
            person=_person(row),
            eligible=bool(row["eligible"]),
            paused=bool(row["paused"]),
            mental_health_professional=bool(row["mental_health_professional"]),
            deployments_in_window=row["recent"],
            last_deployed_seq=row["last_seq"],
            on_duty=_DUTY[duty] if duty else None,
            dual_relationships=frozenset(row["dual_relationships"] or ()),
            serves=_SCOPES[row["serves"]],
        )
    return list(result.values())
