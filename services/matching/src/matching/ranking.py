"""Ranking, as pure functions: the preferences (per-site weights, every point explained),
the decision over a pool, and the widening from the site to its region, then the authority.
The hard rules and the pools are in matching.rules; a candidate who breaks a rule is never
ranked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts.types import DutyLayer, MatchRule, ProfessionGroup

from matching.rules import (
    POOL_ORDER,
    Candidate,
    Case,
    Policy,
    PoolScope,
    Preference,
    first_broken_rule,
    first_pool,
    in_pool,
)

# --- preferences -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    preference: Preference
    points: float


def reasons(case: Case, c: Candidate) -> list[Reason]:
    """The points a candidate earns, one reason per preference that applies."""
    w = case.weights
    found: list[Reason] = []

    def add(pref: Preference, factor: float = 1.0) -> None:
        points = round(w.get(pref, 0.0) * factor, 3)
        if points:
            found.append(Reason(pref, points))

    if c.on_duty is DutyLayer.PRIMARY:
        add(Preference.ON_DUTY)
    elif c.on_duty is DutyLayer.BACKUP:
        add(Preference.ON_DUTY, 2 / 3)
    worker = case.worker
    if worker is not None:
        if case.prefers_same_profession is not None:
            same = c.person.profession == worker.profession
            if same == case.prefers_same_profession:
                add(Preference.PROFESSION)
        if worker.licence_level and c.person.licence_level == worker.licence_level:
            add(Preference.LICENCE_LEVEL)
        if c.person.years_experience >= worker.years_experience:
            add(Preference.EXPERIENCE)
    if case.setting is not None and c.person.setting == case.setting:
        add(Preference.SETTING)
    if case.preferred_gender is not None and c.person.gender == case.preferred_gender:
        add(Preference.GENDER)
    if case.languages and case.languages & c.person.languages:
        add(Preference.LANGUAGE)
    if case.prefers_other_site:
        if c.person.site_id != case.site_id:
            add(Preference.SITE, 2.0)  # distance, because the worker asked
    elif c.person.site_id == case.site_id:
        add(Preference.SITE)
    if c.deployments_in_window:
        add(Preference.LOAD, -float(c.deployments_in_window))
    return found


# --- the decision ----------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    candidate: Candidate
    score: float
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Decision:
    ranked: list[Ranked]
    excluded: dict[MatchRule, int] = field(default_factory=dict)
    pool: PoolScope = PoolScope.SITE
    # eligible candidates found at each width tried, so a reader sees why it widened
    eligible_by_pool: dict[PoolScope, int] = field(default_factory=dict)
    eligible_total: int = 0  # before the limit

    @property
    def matched(self) -> bool:
        return bool(self.ranked)


def _rank_key(r: Ranked) -> tuple[float, int, str]:
    # ties: least recently deployed first, then the reference, so the order is reproducible
    return (-r.score, r.candidate.last_deployed_seq, r.candidate.person.staff_ref)


def decide(case: Case, candidates: Iterable[Candidate], policy: Policy, *, limit: int) -> Decision:
    """Rank every candidate given (one pool) who breaks no hard rule."""
    excluded: dict[MatchRule, int] = {}
    eligible: list[Ranked] = []
    for candidate in candidates:
        rule = first_broken_rule(case, candidate, policy)
        if rule is None:
            why = tuple(reasons(case, candidate))
            eligible.append(Ranked(candidate, round(sum(r.points for r in why), 3), why))
        else:
            excluded[rule] = excluded.get(rule, 0) + 1
    eligible.sort(key=_rank_key)
    return Decision(ranked=eligible[:limit], excluded=excluded, eligible_total=len(eligible))


def decide_widening(
    case: Case, candidates: Iterable[Candidate], policy: Policy, *, limit: int, needed: int = 1
) -> Decision:
    """Decide at the narrowest pool with at least ``needed`` eligible candidates (a whole
    team for a group), widening site → region → authority. When even the authority's pool
    falls short, the widest decision stands: a partial team, or nobody (unmatched)."""
    everyone = list(candidates)
    start = POOL_ORDER.index(first_pool(case))
    found: dict[PoolScope, int] = {}
    decision = Decision(ranked=[])
    for scope in POOL_ORDER[start:]:
        pool = [c for c in everyone if in_pool(case, c, scope)]
        decision = decide(case, pool, policy, limit=limit)
        found[scope] = decision.eligible_total
        decision = Decision(decision.ranked, decision.excluded, scope, dict(found), decision.eligible_total)
        if decision.eligible_total >= needed:
            break
    return decision


# the directory's professions are the authority's own words; metrics counts coarse groups
_PROFESSION_GROUPS = {
    ProfessionGroup.NURSING: ("nursing", "nurse", "rn", "lpn", "rpn", "midwifery", "midwife", "care_aide"),
    ProfessionGroup.MEDICINE: ("medicine", "physician", "resident", "surgery", "anesthesia", "psychiatry"),
    ProfessionGroup.ALLIED_HEALTH: (
        "respiratory",
        "pharmacy",
        "psychology",
        "social_work",
        "physiotherapy",
        "occupational_therapy",
        "paramedic",
        "laboratory",
        "imaging",
        "dietetics",
        "spiritual_care",
    ),
    ProfessionGroup.SUPPORT_SERVICES: ("housekeeping", "portering", "food_services", "security", "clerical"),
}
_GROUP_OF = {p: group for group, professions in _PROFESSION_GROUPS.items() for p in professions}


def profession_group(profession: str | None) -> ProfessionGroup:
    if profession is None:
        return ProfessionGroup.NOT_KNOWN
    return _GROUP_OF.get(profession.replace("-", "_"), ProfessionGroup.OTHER)
