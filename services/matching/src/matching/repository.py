"""Loads the facts a decision needs from matching's own tables."""

from __future__ import annotations

import enum
import functools
import itertools
import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from contracts.types import DutyLayer
from servicekit.database import UnitOfWork
from servicekit.driver import DriverStatement
from sqlalchemy.dialects.postgresql import aggregate_order_by

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


@functools.cache
def _case_facts() -> DriverStatement:
    return DriverStatement(_case_facts_query())  # on the driver: every referral's decision


async def case_facts(uow: UnitOfWork, site_id: str, worker: str | None) -> CaseFacts:
    """A site matching has not been told about yet ranks with the default weights; a
    worker it does not know (or a group case, with nobody named) has no evaluators."""
    row = await _case_facts().fetchrow(uow, {"site_id": site_id, "worker": worker})
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
    """A band of the widening (matching.rules.in_pool): a pool query reads one or more."""

    SITE = "site"  # the case's site: most cases are decided there
    REGION = "region"  # beyond the site: the region's who serve the region or the authority
    AUTHORITY = "authority"  # beyond the region: everyone else who serves the authority


WHOLE = (Reach.SITE, Reach.REGION, Reach.AUTHORITY)


def _fixed(scope: PoolScope) -> sa.ColumnElement[str]:
    """A scope written into the SQL, not sent as a parameter: PostgreSQL then plans the pool
    query for the scopes it names, and it ran a fifth faster (bench/matching_decision.py)."""
    return sa.literal_column(f"'{scope.value}'", sa.Text)


def _band(reach: Reach, *, regional: bool) -> sa.ColumnElement[bool]:
    """The supporters of one band, from the roster alone (where they are, how far they
    serve), through its indexes: the cost follows the pool, not the directory's size."""
    s = t.supporter.c
    # "is distinct from" keeps a supporter with no site yet
    away = s.site_id.is_distinct_from(sa.bindparam("site_id"))
    if reach is Reach.SITE:
        return s.site_id == sa.bindparam("site_id")
    if reach is Reach.REGION:
        serving = s.serves.in_([_fixed(PoolScope.REGION), _fixed(PoolScope.AUTHORITY)])
        return sa.and_(away, s.region == sa.bindparam("region"), serving)
    farther = [away, s.serves == _fixed(PoolScope.AUTHORITY)]
    if regional:
        farther.append(s.region.is_distinct_from(sa.bindparam("region")))
    return sa.and_(*farther)


@functools.cache
def _candidate_query(*, named: bool, reach: tuple[Reach, ...], regional: bool) -> sa.Select[Any]:
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
    return query.where(sa.or_(*(_band(band, regional=regional) for band in reach)))


@functools.cache
def _candidate_statement(*, reach: tuple[Reach, ...], regional: bool) -> DriverStatement:
    """The pool's query on the driver: every referral's decision. (A query naming supporters,
    an override's, goes through the session: its list of names is expanded at each run.)"""
    return DriverStatement(_candidate_query(named=False, reach=reach, regional=regional))


@functools.cache
def _candidate_fields(query: sa.Select[Any]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """Picks from a pool row, in order, what a candidate is made of."""
    names = list(query.selected_columns.keys())
    return operator.itemgetter(*(names.index(name) for name in _CANDIDATE_FIELDS))


_CANDIDATE_FIELDS = (
    # the person, in the order of rules.Person
    "staff_ref",
    "site_id",
    "profession",
    "seniority",
    "years_experience",
    "languages",
    "gender",
    "licence_level",
    "region",
    "setting",
    "unit",
    # the supporter, in the order of rules.Candidate
    "eligible",
    "paused",
    "mental_health_professional",
    "recent",
    "last_seq",
    "duty_layer",
    "dual_relationships",
    "serves",
)


async def candidates(
    uow: UnitOfWork,
    where: SiteFacts,
    *,
    now: datetime,
    window_days: int,
    only: Collection[str] | None = None,
    reach: tuple[Reach, ...] = WHOLE,
) -> list[Candidate]:
    """The supporters who could serve a case at this site, with eligibility, duty and
    recent load: at the widest pool (the site's own, the region's who serve the region,
    and everyone who serves the authority) unless ``reach`` names fewer bands; of them,
    only the supporters named in ``only`` when it is given."""
    regional = where.region is not None
    if not regional:
        reach = tuple(band for band in reach if band is not Reach.REGION)
        if not reach:
            return []  # a site with no region has no region's supporters
    query = _candidate_query(named=only is not None, reach=reach, regional=regional)
    params: dict[str, Any] = {"since": now - timedelta(days=window_days), "site_id": where.site_id}
    if where.region is not None:
        params["region"] = where.region
    if only is None:
        rows = await _candidate_statement(reach=reach, regional=regional).fetch(uow, params)
    else:
        rows = list(await uow.session.execute(query, {**params, "named": list(only)}))
    result: dict[str, Candidate] = {}
    # by position, in one step a row: a pool of two hundred is read for every case that
    # widens, and reading it by name was a fifth of the decision (bench/matching_decision.py)
    for (
        ref,
        site_id,
        profession,
        seniority,
        years_experience,
        languages,
        gender,
        licence_level,
        region,
        setting,
        unit,
        eligible,
        paused,
        mental_health_professional,
        recent,
        last_seq,
        duty,
        dual_relationships,
        serves,
    ) in map(_candidate_fields(query), rows):
        if ref in result and result[ref].on_duty is DutyLayer.PRIMARY:
            continue  # on both layers at once: the primary counts
        person = Person(
            ref,
            site_id,
            profession,
            seniority,
            years_experience,
            frozenset(languages or ()),
            gender,
            licence_level or 0,
            region,
            _SETTINGS[setting] if setting else None,
            unit,
        )
        result[ref] = Candidate(
            person,
            bool(eligible),
            bool(paused),
            bool(mental_health_professional),
            recent,
            last_seq,
            _DUTY[duty] if duty else None,
            frozenset(dual_relationships or ()),
            _SCOPES[serves],
        )
    return list(result.values())
