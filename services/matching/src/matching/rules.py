"""The hard rules of matching, as pure functions (DOMAIN.md, "Matching"; 001 Box 4.8).

A candidate who breaks any of these is never proposed; the first rule broken is recorded
so a coordinator can see how many were excluded by which rule (never who, or why them).

Seniority is compared on one authority-wide ladder, because grades differ by profession:
    1 student, volunteer, trainee
    2 new graduate, junior resident, first two years in the role
    3 staff (registered nurse, pharmacist, therapist, clerk, porter...)
    4 senior staff: charge nurse, senior resident, fellow, team lead
    5 leadership or attending: manager, attending physician, educator, program director
    6 executive: chief, director, vice-president
The directory import maps each person's grade onto this ladder. "Never a junior for a
senior" means: a candidate below the worker's level is excluded; the same level or above
is allowed (years of experience only rank, they never exclude).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from contracts.types import DutyLayer, MatchRule


@dataclass(frozen=True)
class Person:
    staff_ref: str
    site_id: str
    profession: str
    seniority: int  # on the ladder above, 1..6
    years_experience: int = 0
    languages: frozenset[str] = frozenset()
    gender: str | None = None


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


@dataclass(frozen=True)
class Case:
    site_id: str
    worker: Person | None
    evaluators: frozenset[str] = frozenset()  # everyone who evaluates the worker
    crisis: bool = False
    excluded_by_worker: frozenset[str] = frozenset()
    involved: frozenset[str] = frozenset()
    prefers_same_profession: bool | None = None
    languages: frozenset[str] = frozenset()
    preferred_gender: str | None = None
    prefers_other_site: bool = False


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


def breaks_role(case: Case, c: Candidate, _p: Policy) -> bool:
    """A crisis goes to a mental-health professional (tier 3), and nobody supports themself."""
    if case.worker is not None and c.person.staff_ref == case.worker.staff_ref:
        return True
    return case.crisis and not c.mental_health_professional


def breaks_seniority(case: Case, c: Candidate, _p: Policy) -> bool:
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
    return c.person.staff_ref in case.involved


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


@dataclass(frozen=True)
class Ranked:
    candidate: Candidate
    score: float


@dataclass(frozen=True)
class Decision:
    ranked: list[Ranked]
    excluded: dict[MatchRule, int] = field(default_factory=dict)

    @property
    def matched(self) -> bool:
        return bool(self.ranked)


def score(case: Case, c: Candidate) -> float:
    """Preferences: explainable, additive, never exclusionary."""
    s = 0.0
    if c.on_duty is DutyLayer.PRIMARY:
        s += 3.0
    elif c.on_duty is DutyLayer.BACKUP:
        s += 2.0
    if case.worker is not None and case.prefers_same_profession is not None:
        same = c.person.profession == case.worker.profession
        s += 1.0 if same == case.prefers_same_profession else 0.0
    if case.languages and case.languages & c.person.languages:
        s += 1.0
    if case.preferred_gender is not None and c.person.gender == case.preferred_gender:
        s += 1.0
    if case.prefers_other_site:
        s += 1.0 if c.person.site_id != case.site_id else 0.0  # distance, when the worker asks
    elif c.person.site_id == case.site_id:
        s += 0.5
    s -= 0.25 * c.deployments_in_window  # even load across the roster
    return round(s, 3)


def decide(case: Case, candidates: Iterable[Candidate], policy: Policy, *, limit: int) -> Decision:
    excluded: dict[MatchRule, int] = {}
    eligible: list[Ranked] = []
    for candidate in candidates:
        rule = first_broken_rule(case, candidate, policy)
        if rule is None:
            eligible.append(Ranked(candidate, score(case, candidate)))
        else:
            excluded[rule] = excluded.get(rule, 0) + 1
    # ties: least recently deployed first, then the reference, so the order is reproducible
    eligible.sort(key=lambda r: (-r.score, r.candidate.last_deployed_seq, r.candidate.person.staff_ref))
    return Decision(ranked=eligible[:limit], excluded=excluded)
