"""The rules of matching, as pure functions (DOMAIN.md, "Matching"; 001 Box 4.8, 4.11, 4.13).

Hard rules: a candidate who breaks any of them is never proposed; the first rule broken is
counted, so a coordinator can see how many were excluded by which rule (never who, or why
them). Preferences only rank, with per-site weights, and every point is explained
(matching.ranking).

Seniority is compared on one authority-wide ladder, because grades differ by profession:
    1 student, volunteer, trainee
    2 new graduate, junior resident, first two years in the role
    3 staff (registered nurse, pharmacist, therapist, clerk, porter...)
    4 senior staff: charge nurse, senior resident, fellow, team lead
    5 leadership or attending: manager, attending physician, educator, program director
    6 executive: chief, director, vice-president
The directory maps each person's grade onto this ladder (``GRADE_LADDER``, or an explicit
level). "Never a junior for a senior" means: a candidate below the worker's level is
excluded; the same level or above is allowed, whatever the profession. Years of experience
and licence level only rank; they never exclude.

Pools: a supporter serves their own site, or also their region, or the whole authority.
When nobody at the worker's site is eligible, matching widens to the region, then to the
authority; only then is the referral unmatched (a coordinator and tier 3 are alerted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from contracts.types import DutyLayer, MatchRule

# Common grades of Canadian health authorities on the seniority ladder. An authority with
# other titles gives the level explicitly in its directory.
GRADE_LADDER: Mapping[str, int] = {
    "student": 1,
    "volunteer": 1,
    "trainee": 1,
    "new_graduate": 2,
    "resident_junior": 2,
    "staff": 3,
    "registered_nurse": 3,
    "licensed_practical_nurse": 3,
    "allied_health": 3,
    "support_staff": 3,
    "charge_nurse": 4,
    "senior_staff": 4,
    "resident_senior": 4,
    "fellow": 4,
    "team_lead": 4,
    "manager": 5,
    "attending": 5,
    "educator": 5,
    "program_director": 5,
    "director": 6,
    "chief": 6,
    "executive": 6,
}


class Setting(StrEnum):
    RURAL = "rural"
    URBAN = "urban"


class PoolScope(StrEnum):
    """How far a supporter will go, and how far matching had to widen."""

    SITE = "site"
    REGION = "region"
    AUTHORITY = "authority"


POOL_ORDER = (PoolScope.SITE, PoolScope.REGION, PoolScope.AUTHORITY)


class Preference(StrEnum):
    """What ranks a candidate; each has a per-site weight."""

    ON_DUTY = "on_duty"  # on shift now (CKHA): primary the full weight, backup two thirds
    PROFESSION = "profession"  # same profession, or another when the worker asks for it
    LICENCE_LEVEL = "licence_level"
    EXPERIENCE = "experience"  # at least as many years in practice as the worker
    SETTING = "setting"  # rural or urban, like the worker's site
    GENDER = "gender"  # the worker's stated preference
    LANGUAGE = "language"
    SITE = "site"  # the worker's site; another site (double weight) when asked for distance
    LOAD = "load"  # subtracted per deployment in the window: even load across the roster


DEFAULT_WEIGHTS: Mapping[Preference, float] = {
    Preference.ON_DUTY: 3.0,
    Preference.PROFESSION: 1.0,
    Preference.LICENCE_LEVEL: 0.5,
    Preference.EXPERIENCE: 0.5,
    Preference.SETTING: 0.5,
    Preference.GENDER: 1.0,
    Preference.LANGUAGE: 1.0,
    Preference.SITE: 0.5,
    Preference.LOAD: 0.25,
}


@dataclass(frozen=True)
class Person:
    staff_ref: str
    site_id: str
    profession: str
    seniority: int  # on the ladder above, 1..6
    years_experience: int = 0
    languages: frozenset[str] = frozenset()
    gender: str | None = None
    licence_level: int = 0  # 0 unlicensed .. 4 independent practice; ranks only
    region: str | None = None
    setting: Setting | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Candidate:
    """A supporter, with what matching knows of them from the other services."""

    person: Person
    eligible: bool  # training: every required certification current, active in the program
    paused: bool = False
    mental_health_professional: bool = False  # tier 3
    deployments_in_window: int = 0
    last_deployed_seq: int = 0  # higher = deployed more recently; 0 = never
    on_duty: DutyLayer | None = None
    dual_relationships: frozenset[str] = frozenset()  # people they declared they cannot support
    serves: PoolScope = PoolScope.SITE


@dataclass(frozen=True)
class Case:
    site_id: str
    worker: Person | None
    evaluators: frozenset[str] = frozenset()  # everyone who evaluates the worker
    # one worker's case whose worker the directory does not know (or who gave no staff
    # reference): nobody can say who is senior to them or in their reporting line, so only
    # supporters who would pass for the most senior grade are offered (see breaks_seniority)
    worker_unchecked: bool = False
    crisis: bool = False
    excluded_by_worker: frozenset[str] = frozenset()
    involved: frozenset[str] = frozenset()
    involved_unit: str | None = None  # a group activation's unit, at the case's site
    prefers_same_profession: bool | None = None
    languages: frozenset[str] = frozenset()
    preferred_gender: str | None = None
    prefers_other_site: bool = False
    region: str | None = None  # of the worker's site
    setting: Setting | None = None
    weights: Mapping[Preference, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)


@dataclass(frozen=True)
class Policy:
    deployment_cap: int = 2
    # group sessions (CKHA, 001 Box 4.9): one supporter for about this many people
    people_per_supporter: int = 6
    largest_team: int = 6


def team_size(group_size: int | None, policy: Policy) -> int:
    """Supporters a group case needs: never fewer than two for a group, so no supporter
    faces a grieving team alone; never more than the largest team a site can field."""
    if group_size is None or group_size < 2:
        return 1
    needed = -(-group_size // policy.people_per_supporter)
    return max(2, min(needed, policy.largest_team))


# --- hard rules ------------------------------------------------------------------------


def breaks_role(case: Case, c: Candidate, _p: Policy) -> bool:
    """A crisis goes to a mental-health professional (tier 3), and nobody supports themself."""
    if case.worker is not None and c.person.staff_ref == case.worker.staff_ref:
        return True
    return case.crisis and not c.mental_health_professional


MOST_SENIOR = max(GRADE_LADDER.values())
UNCHECKED_WORKER = "not in the directory: seniority and reporting line unchecked"


def breaks_seniority(case: Case, c: Candidate, _p: Policy) -> bool:
    if case.worker_unchecked:
        # the safe reading of an unknown worker: as senior as anyone can be. At most sites
        # nobody passes, and the coordinator is paged at once to decide (a person, not a guess)
        return c.person.seniority < MOST_SENIOR
    return case.worker is not None and c.person.seniority < case.worker.seniority


def breaks_non_evaluator(case: Case, c: Candidate, _p: Policy) -> bool:
    return c.person.staff_ref in case.evaluators


def breaks_certification(_case: Case, c: Candidate, _p: Policy) -> bool:
    return not c.eligible


def breaks_paused(_case: Case, c: Candidate, _p: Policy) -> bool:
    return c.paused


def breaks_deployment_cap(_case: Case, c: Candidate, p: Policy) -> bool:
    return c.deployments_in_window >= p.deployment_cap


def breaks_involved(case: Case, c: Candidate, _p: Policy) -> bool:
    """Named as involved, or working on the unit a group activation is for: they lived
    the same event and need support themselves."""
    if c.person.staff_ref in case.involved:
        return True
    return (
        case.involved_unit is not None
        and c.person.unit == case.involved_unit
        and c.person.site_id == case.site_id
    )


def breaks_worker_exclusion(case: Case, c: Candidate, _p: Policy) -> bool:
    return c.person.staff_ref in case.excluded_by_worker


def breaks_dual_relationship(case: Case, c: Candidate, _p: Policy) -> bool:
    return case.worker is not None and case.worker.staff_ref in c.dual_relationships


HARD_RULES: tuple[tuple[MatchRule, Callable[[Case, Candidate, Policy], bool]], ...] = (
    (MatchRule.ROLE, breaks_role),
    (MatchRule.NON_EVALUATOR, breaks_non_evaluator),
    (MatchRule.SENIORITY, breaks_seniority),
    (MatchRule.CERTIFICATION, breaks_certification),
    (MatchRule.PAUSED, breaks_paused),
    (MatchRule.DEPLOYMENT_CAP, breaks_deployment_cap),
    (MatchRule.INVOLVED, breaks_involved),
    (MatchRule.EXCLUDED_BY_WORKER, breaks_worker_exclusion),
    (MatchRule.DUAL_RELATIONSHIP, breaks_dual_relationship),
)

# Rules about the worker's relationships. A reader is told only that "a conflict of
# interest" stands in the way, so naming a candidate never reveals who evaluates whom.
RELATIONSHIP_RULES = frozenset(
    {
        MatchRule.NON_EVALUATOR,
        MatchRule.INVOLVED,
        MatchRule.EXCLUDED_BY_WORKER,
        MatchRule.DUAL_RELATIONSHIP,
    }
)


def first_broken_rule(case: Case, candidate: Candidate, policy: Policy) -> MatchRule | None:
    for rule, broken in HARD_RULES:
        if broken(case, candidate, policy):
            return rule
    return None


def evaluators_of(
    worker: str,
    reports_to: Mapping[str, str | None],
    declared: Mapping[str, Iterable[str]],
) -> frozenset[str]:
    """Everyone who evaluates ``worker``: the whole reporting line upwards (manager, their
    manager, ...) and every declared evaluator (preceptor, program director, ...)."""
    found: set[str] = set(declared.get(worker, ()))
    current = reports_to.get(worker)
    while current is not None and current not in found:
        found.add(current)
        current = reports_to.get(current)
    found.discard(worker)
    return frozenset(found)


# --- pools -----------------------------------------------------------------------------


def in_pool(case: Case, c: Candidate, scope: PoolScope) -> bool:
    """Whether a candidate belongs to the case's pool at this width. Pools nest: the
    site's supporters, then those of the region who serve the region, then everyone who
    serves the whole authority."""
    if c.person.site_id == case.site_id:
        return True
    if scope is PoolScope.SITE:
        return False
    same_region = case.region is not None and c.person.region == case.region
    if same_region and c.serves in (PoolScope.REGION, PoolScope.AUTHORITY):
        return True
    return scope is PoolScope.AUTHORITY and c.serves is PoolScope.AUTHORITY


def first_pool(case: Case) -> PoolScope:
    """A worker who asks for distance starts at the region, so another site is possible."""
    return PoolScope.REGION if case.prefers_other_site else PoolScope.SITE
