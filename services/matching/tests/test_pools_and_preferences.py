"""Widening site → region → authority, weighted preferences and their explanation: pure."""

from __future__ import annotations

import pytest
from contracts.types import DutyLayer
from hypothesis import given, settings
from hypothesis import strategies as st
from matching.ranking import decide, decide_widening, reasons
from matching.rules import (
    DEFAULT_WEIGHTS,
    Candidate,
    Case,
    Person,
    Policy,
    PoolScope,
    Preference,
    Setting,
    first_broken_rule,
    in_pool,
)

WORKER = Person("st-worker", "north", "nursing", 3, years_experience=6, licence_level=2, region="east")


def supporter(ref: str, site: str = "north", region: str = "east", **kwargs: object) -> Candidate:
    """A candidate; keyword arguments go to the Person or the Candidate they belong to."""
    about_person = {k: kwargs.pop(k) for k in list(kwargs) if k in Person.__dataclass_fields__}
    person = Person(
        **{"profession": "nursing", "seniority": 3, **about_person},  # type: ignore[arg-type]
        staff_ref=ref,
        site_id=site,
        region=region,
    )
    return Candidate(person=person, **{"eligible": True, **kwargs})  # type: ignore[arg-type]


def case(**kwargs: object) -> Case:
    base: dict[str, object] = {"site_id": "north", "worker": WORKER, "region": "east"}
    return Case(**{**base, **kwargs})  # type: ignore[arg-type]


def refs(decision) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.candidate.person.staff_ref for r in decision.ranked]


class TestPools:
    def test_the_worker_s_own_site_is_tried_first(self):
        pool = [supporter("st-home"), supporter("st-away", site="south", serves=PoolScope.AUTHORITY)]
        decision = decide_widening(case(), pool, Policy(), limit=5)
        assert decision.pool is PoolScope.SITE and refs(decision) == ["st-home"]

    def test_nobody_eligible_at_the_site_widens_to_the_region_s_supporters_who_serve_it(self):
        pool = [
            supporter("st-home", eligible=False),
            supporter("st-regional", site="south", serves=PoolScope.REGION),
            supporter("st-stays-home", site="south", serves=PoolScope.SITE),
            supporter("st-other-region", site="west", region="west", serves=PoolScope.REGION),
        ]
        decision = decide_widening(case(), pool, Policy(), limit=5)
        assert decision.pool is PoolScope.REGION
        assert refs(decision) == ["st-regional"]
        assert decision.eligible_by_pool == {PoolScope.SITE: 0, PoolScope.REGION: 1}

    def test_then_to_whoever_serves_the_whole_authority(self):
        pool = [
            supporter("st-home", paused=True),
            supporter("st-far", site="west", region="west", serves=PoolScope.AUTHORITY),
        ]
        decision = decide_widening(case(), pool, Policy(), limit=5)
        assert decision.pool is PoolScope.AUTHORITY and refs(decision) == ["st-far"]

    def test_when_even_the_authority_has_nobody_the_referral_is_unmatched(self):
        pool = [supporter("st-home", eligible=False), supporter("st-far", site="west", region="west")]
        decision = decide_widening(case(), pool, Policy(), limit=5)
        assert not decision.matched and decision.pool is PoolScope.AUTHORITY
        assert sum(decision.eligible_by_pool.values()) == 0

    def test_a_group_widens_until_the_whole_team_is_found(self):
        pool = [
            supporter("st-home"),
            supporter("st-regional", site="south", serves=PoolScope.REGION),
        ]
        decision = decide_widening(case(), pool, Policy(), limit=5, needed=2)
        assert decision.pool is PoolScope.REGION and set(refs(decision)) == {"st-home", "st-regional"}

    def test_a_worker_who_asks_for_distance_starts_at_the_region(self):
        pool = [supporter("st-home"), supporter("st-regional", site="south", serves=PoolScope.REGION)]
        decision = decide_widening(case(prefers_other_site=True), pool, Policy(), limit=5)
        assert decision.pool is PoolScope.REGION and refs(decision) == ["st-regional", "st-home"]

    def test_a_site_without_a_region_skips_straight_to_the_authority_pool(self):
        regional = supporter("st-regional", site="south", serves=PoolScope.REGION)
        assert not in_pool(case(region=None), regional, PoolScope.REGION)
        assert not in_pool(case(region=None), regional, PoolScope.AUTHORITY)


class TestPreferences:
    @pytest.mark.parametrize(
        ("the_case", "matching", "other", "preference"),
        [
            (case(prefers_same_profession=True), {}, {"profession": "pharmacy"}, Preference.PROFESSION),
            (case(prefers_same_profession=False), {"profession": "pharmacy"}, {}, Preference.PROFESSION),
            (case(), {"licence_level": 2}, {"licence_level": 4}, Preference.LICENCE_LEVEL),
            (case(), {"years_experience": 6}, {"years_experience": 5}, Preference.EXPERIENCE),
            (case(setting=Setting.RURAL), {"setting": Setting.RURAL}, {}, Preference.SETTING),
            (case(preferred_gender="woman"), {"gender": "woman"}, {"gender": "man"}, Preference.GENDER),
            (case(languages=frozenset({"fr"})), {"languages": frozenset({"fr"})}, {}, Preference.LANGUAGE),
            (case(), {"on_duty": DutyLayer.PRIMARY}, {}, Preference.ON_DUTY),
            (case(), {}, {"deployments_in_window": 1}, Preference.LOAD),
        ],
    )
    def test_each_preference_earns_its_weight_and_says_so(self, the_case, matching, other, preference):
        a = supporter("st-aa", **matching)
        b = supporter("st-bb", **other)
        assert refs(decide(the_case, [b, a], Policy(), limit=5)) == ["st-aa", "st-bb"]
        mentioned = {r.preference for r in reasons(the_case, a)} ^ {
            r.preference for r in reasons(the_case, b)
        }
        assert preference in mentioned

    def test_a_site_s_weights_change_the_ranking(self):
        speaks = supporter("st-fr", languages=frozenset({"fr"}))
        on_shift = supporter("st-duty", on_duty=DutyLayer.PRIMARY)
        default = case(languages=frozenset({"fr"}))
        assert refs(decide(default, [speaks, on_shift], Policy(), limit=5))[0] == "st-duty"
        language_first = {**DEFAULT_WEIGHTS, Preference.LANGUAGE: 5.0}
        weighted = case(languages=frozenset({"fr"}), weights=language_first)
        assert refs(decide(weighted, [speaks, on_shift], Policy(), limit=5))[0] == "st-fr"

    def test_a_zero_weight_switches_a_preference_off(self):
        weights = {**DEFAULT_WEIGHTS, Preference.ON_DUTY: 0.0}
        assert reasons(case(weights=weights), supporter("st-duty", on_duty=DutyLayer.PRIMARY)) == [
            r
            for r in reasons(case(weights=weights), supporter("st-duty"))
            if r.preference is not Preference.ON_DUTY
        ]

    def test_the_score_is_the_sum_of_its_reasons(self):
        c = supporter("st-aa", on_duty=DutyLayer.BACKUP, languages=frozenset({"fr"}), deployments_in_window=1)
        the_case = case(languages=frozenset({"fr"}))
        ranked = decide(the_case, [c], Policy(), limit=1).ranked[0]
        assert {r.preference for r in ranked.reasons} == {
            Preference.ON_DUTY,
            Preference.LANGUAGE,
            Preference.SITE,
            Preference.LOAD,
        }
        assert ranked.score == pytest.approx(sum(r.points for r in reasons(the_case, c)))

    def test_equal_scores_go_to_the_least_recently_deployed(self):
        pool = [supporter("st-aa", last_deployed_seq=7), supporter("st-bb", last_deployed_seq=3)]
        assert refs(decide(case(), pool, Policy(), limit=5)) == ["st-bb", "st-aa"]


# --- properties over random authorities --------------------------------------------------

SITES = {"s1": "east", "s2": "east", "s3": "west", "s4": "west"}
REFS = [f"st-p{i:02d}" for i in range(20)]


@st.composite
def candidates(draw: st.DrawFn) -> Candidate:
    site = draw(st.sampled_from(sorted(SITES)))
    return Candidate(
        person=Person(
            draw(st.sampled_from(REFS)),
            site,
            draw(st.sampled_from(["nursing", "medicine", "pharmacy"])),
            seniority=draw(st.integers(1, 6)),
            years_experience=draw(st.integers(0, 30)),
            licence_level=draw(st.integers(0, 4)),
            region=SITES[site],
            setting=draw(st.sampled_from([None, Setting.RURAL, Setting.URBAN])),
        ),
        eligible=draw(st.booleans()),
        paused=draw(st.booleans()),
        mental_health_professional=draw(st.booleans()),
        deployments_in_window=draw(st.integers(0, 3)),
        last_deployed_seq=draw(st.integers(0, 50)),
        on_duty=draw(st.sampled_from([None, DutyLayer.PRIMARY, DutyLayer.BACKUP])),
        dual_relationships=frozenset(draw(st.sets(st.sampled_from(REFS), max_size=2))),
        serves=draw(st.sampled_from(list(PoolScope))),
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    site = draw(st.sampled_from(sorted(SITES)))
    return Case(
        site_id=site,
        worker=Person(
            draw(st.sampled_from(REFS)),
            site,
            "nursing",
            seniority=draw(st.integers(1, 6)),
            years_experience=draw(st.integers(0, 30)),
            region=SITES[site],
        ),
        evaluators=frozenset(draw(st.sets(st.sampled_from(REFS), max_size=5))),
        crisis=draw(st.booleans()),
        excluded_by_worker=frozenset(draw(st.sets(st.sampled_from(REFS), max_size=3))),
        involved=frozenset(draw(st.sets(st.sampled_from(REFS), max_size=3))),
        prefers_same_profession=draw(st.sampled_from([None, True, False])),
        prefers_other_site=draw(st.booleans()),
        region=SITES[site],
    )


@settings(max_examples=400, deadline=None)
@given(cases(), st.lists(candidates(), max_size=25), st.integers(1, 3), st.integers(1, 3))
def test_a_widened_proposal_never_holds_anyone_who_breaks_a_hard_rule(the_case, pool, cap, needed):
    policy = Policy(deployment_cap=cap)
    decision = decide_widening(the_case, pool, policy, limit=10, needed=needed)
    worker = the_case.worker
    for ranked in decision.ranked:
        c = ranked.candidate
        assert c.person.staff_ref != worker.staff_ref
        assert c.person.seniority >= worker.seniority
        assert c.person.staff_ref not in the_case.evaluators
        assert c.eligible and not c.paused and c.deployments_in_window < cap
        assert not the_case.crisis or c.mental_health_professional
        assert c.person.staff_ref not in the_case.excluded_by_worker | the_case.involved
        assert worker.staff_ref not in c.dual_relationships
        assert in_pool(the_case, c, decision.pool)  # never someone outside the pool reached


@settings(max_examples=400, deadline=None)
@given(cases(), st.lists(candidates(), max_size=25))
def test_a_proposal_exists_whenever_anyone_in_reach_is_eligible(the_case, pool):
    policy = Policy()
    decision = decide_widening(the_case, pool, policy, limit=5)
    reachable = [c for c in pool if in_pool(the_case, c, PoolScope.AUTHORITY)]
    anyone = any(first_broken_rule(the_case, c, policy) is None for c in reachable)
    assert decision.matched == anyone
    if decision.matched:  # and at the narrowest pool that had someone
        narrower = [s for s in PoolScope if list(PoolScope).index(s) < list(PoolScope).index(decision.pool)]
        for scope in narrower:
            if list(PoolScope).index(scope) >= (1 if the_case.prefers_other_site else 0):
                assert decision.eligible_by_pool[scope] == 0


def test_a_group_activation_never_sends_someone_from_the_unit_it_is_for():
    from matching.rules import breaks_involved

    group = Case(site_id="north", worker=None, involved_unit="icu-4")
    assert breaks_involved(group, supporter("st-icu", unit="icu-4"), Policy())
    assert not breaks_involved(group, supporter("st-ward", unit="ward-7"), Policy())
    # the same unit name at another site is another team
    assert not breaks_involved(group, supporter("st-else", site="south", unit="icu-4"), Policy())
