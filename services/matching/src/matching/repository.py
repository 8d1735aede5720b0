"""Loads the facts a decision needs from matching's own tables."""

from __future__ import annotations

import enum
import functools
import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from contracts.types import DutyLayer
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from matching import tables as t
from matching.rules import DEFAULT_WEIGHTS, Candidate, Person, PoolScope, Preference, Setting, evaluators_of


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


def _as_sent(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A text array exactly as the driver returns it (a list): SQLAlchemy's per-item
    processing of arrays was a fifth of a pool query's time."""
    return sa.type_coerce(column, sa.types.NullType()).label(column.name)


# the display name is for coordinators' pages, not for a decision
_PERSON = [_as_sent(c) if c.name == "languages" else c for c in t.person.c if c.name != "display_name"]


def _with_site(query: sa.Select[Any]) -> sa.Select[Any]:
    return query.add_columns(t.site.c.region, t.site.c.setting).outerjoin(
        t.site, t.site.c.site_id == t.person.c.site_id
    )


@dataclass(frozen=True)
class CaseFacts:
    """What a decision needs to know about the case before it looks at anyone: the site,
    the worker, and everyone who evaluates the worker."""

    where: SiteFacts
    worker: Person | None
    evaluators: frozenset[str]


def _site_facts(site_id: str, region: str | None, setting: str | None, weights: Any) -> SiteFacts:
    merged = {**DEFAULT_WEIGHTS, **{Preference(k): float(v) for k, v in (weights or {}).items()}}
    return SiteFacts(site_id, region, Setting(setting) if setting else None, merged)


@functools.cache
def _case_facts_query() -> sa.Select[Any]:
    """One round trip for the site, the worker and the worker's evaluators; a decision is
    made often and every round trip shows in its p99 (bench/matching_decision.py)."""
    # the reporting line upwards, as far as it goes; the depth bound stops a cycle someone
    # typed into the directory (evaluators_of stops at a repeat anyway)
    start = (
        sa.select(t.person.c.reports_to.label("boss"), sa.literal(1).label("depth"))
        .where(t.person.c.staff_ref == sa.bindparam("worker"))
        .cte("line", recursive=True)
    )
    up = t.person.alias("up")
    line = start.union_all(
        sa.select(up.c.reports_to, start.c.depth + 1)
        .join(start, up.c.staff_ref == start.c.boss)
        .where(start.c.depth < 64)
    )
    bosses = (
        sa.select(sa.func.array_agg(aggregate_order_by(line.c.boss, line.c.depth)))
        .where(line.c.boss.is_not(None))
        .scalar_subquery()
    )
    declared = (
        sa.select(sa.func.array_agg(t.evaluator.c.evaluator_ref))
        .where(t.evaluator.c.evaluatee_ref == sa.bindparam("worker"))
        .scalar_subquery()
    )
    case_site = t.site.alias("case_site")
    anchor = sa.select(sa.literal(1).label("one")).subquery("anchor")
    return (
        sa.select(
            case_site.c.region.label("case_region"),
            case_site.c.setting.label("case_setting"),
            case_site.c.weights.label("case_weights"),
            t.person,
            t.site.c.region,
            t.site.c.setting,
            bosses.label("bosses"),
            declared.label("declared"),
        )
        .select_from(anchor)
        .outerjoin(case_site, case_site.c.site_id == sa.bindparam("site_id"))
        .outerjoin(t.person, t.person.c.staff_ref == sa.bindparam("worker"))
        .outerjoin(t.site, t.site.c.site_id == t.person.c.site_id)
    )


async def case_facts(session: AsyncSession, site_id: str, worker: str | None) -> CaseFacts:
    """A site matching has not been told about yet ranks with the default weights; a
    worker it does not know (or a group case, with nobody named) has no evaluators."""
    params = {"site_id": site_id, "worker": worker}
    row = (await session.execute(_case_facts_query(), params)).mappings().one()
    where = _site_facts(site_id, row["case_region"], row["case_setting"], row["case_weights"])
    if worker is None:
        return CaseFacts(where, None, frozenset())
    chain = [worker, *(row["bosses"] or ())]
    reports_to: dict[str, str | None] = dict(itertools.pairwise(chain))
    found = evaluators_of(worker, reports_to, {worker: row["declared"] or ()})
    return CaseFacts(where, _person(row) if row["staff_ref"] else None, found)


_DUTY = {d.value: d for d in DutyLayer}
_SCOPES = {s.value: s for s in PoolScope}


class Reach(enum.Enum):
    """Which supporters a pool query reads."""

    SITE = "site"  # the case's site alone: most cases are decided there
    BEYOND_SITE = "beyond_site"  # the region's and the authority's, when the site fell short
    WHOLE = "whole"  # all of them at once, when the worker asked for distance


@functools.cache
def _candidate_query(*, named: bool, reach: Reach, regional: bool) -> sa.Select[Any]:
    """Built once per shape and reused with parameters (site_id, region, since, named):
    a decision is made often and must be quick (bench/matching_decision.py)."""
    # one look per supporter through the (staff_ref, deployed_at) index: the cost follows
    # the pool, not the authority's whole deployment history
    load = (
        sa.select(
            sa.func.count().filter(t.deployment.c.deployed_at >= sa.bindparam("since")).label("recent"),
            sa.func.coalesce(sa.func.max(t.deployment.c.seq), 0).label("last_seq"),
        )
        .where(t.deployment.c.staff_ref == t.supporter.c.staff_ref)
        .lateral("load")
    )
    query = _with_site(
        sa.select(
            *_PERSON,
            # paused by the authority's roster or by the supporter themself: either one counts
            (t.supporter.c.paused | t.supporter.c.self_paused).label("paused"),
            t.supporter.c.mental_health_professional,
            _as_sent(t.supporter.c.dual_relationships),
            t.supporter.c.serves,
            sa.func.coalesce(t.eligibility.c.eligible, False).label("eligible"),
            t.duty.c.layer.label("duty_layer"),
            load.c.recent,
            load.c.last_seq,
        )
        .select_from(t.supporter)
        .join(t.person, t.person.c.staff_ref == t.supporter.c.staff_ref)
        .join(load, sa.true())
        .outerjoin(t.eligibility, t.eligibility.c.staff_ref == t.supporter.c.staff_ref)
        # on duty at their own site counts, wherever the case is: they are at work now
        .outerjoin(
            t.duty,
            sa.and_(t.duty.c.staff_ref == t.person.c.staff_ref, t.duty.c.site_id == t.person.c.site_id),
        )
    )
    if named:
        # a named supporter (an override) counts only if they serve the case's site: the
        # same reach rules as the pool, so an id from another site finds nobody
        query = query.where(t.supporter.c.staff_ref.in_(sa.bindparam("named", expanding=True)))
    # the pool from the roster alone (where supporters are, how far they serve), through
    # its indexes: the cost follows the pool and not the size of the directory
    at_site = t.supporter.c.site_id == sa.bindparam("site_id")
    if reach is Reach.SITE:
        return query.where(at_site)
    farther = [t.supporter.c.serves == PoolScope.AUTHORITY.value]
    if regional:
        farther.append(
            sa.and_(
                t.supporter.c.serves == PoolScope.REGION.value, t.supporter.c.region == sa.bindparam("region")
            )
        )
    if reach is Reach.WHOLE:
        return query.where(sa.or_(at_site, *farther))
    # the site's own were read already; "is distinct from" keeps those with no site yet
    return query.where(sa.or_(*farther), t.supporter.c.site_id.is_distinct_from(sa.bindparam("site_id")))


async def candidates(
    session: AsyncSession,
    where: SiteFacts,
    *,
    now: datetime,
    window_days: int,
    only: Collection[str] | None = None,
    reach: Reach = Reach.WHOLE,
) -> list[Candidate]:
    """The supporters who could serve a case at this site, with eligibility, duty and
    recent load: at the widest pool (the site's own, the region's who serve the region,
    and everyone who serves the authority) unless ``reach`` says less; of them, only the
    supporters named in ``only`` when it is given."""
    query = _candidate_query(named=only is not None, reach=reach, regional=where.region is not None)
    params: dict[str, Any] = {"since": now - timedelta(days=window_days), "site_id": where.site_id}
    if only is not None:
        params["named"] = list(only)
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
