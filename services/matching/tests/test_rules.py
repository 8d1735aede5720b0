"""The hard rules of matching as pure functions: no Kafka, no database."""

from __future__ import annotations

from contracts.types import DutyLayer, MatchRule, ProfessionGroup
from hypothesis import given, settings
from hypothesis import strategies as st
from matching.ranking import decide, profession_group
from matching.rules import (
    Candidate,
    Case,
    Person,
    Policy,
    breaks_non_evaluator,
    breaks_role,
    breaks_seniority,
    evaluators_of,
    first_broken_rule,
)

WORKER = Person("st-worker", "north", "nursing", seniority=3, years_experience=6)


def candidate(ref: str = "st-cand", **kwargs: object) -> Candidate:
    person = Person(
        ref, "north", str(kwargs.pop("profession", "nursing")), seniority=int(kwargs.pop("seniority", 3))
    )  # type: ignore[call-overload]
    return Candidate(person=person, eligible=bool(kwargs.pop("eligible", True)), **kwargs)  # type: ignore[arg-type]


def case(**kwargs: object) -> Case:
    return Case(site_id="north", worker=kwargs.pop("worker", WORKER), **kwargs)  # type: ignore[arg-type]


class TestSeniority:
    def test_a_junior_never_supports_a_more_senior_worker(self):
        assert breaks_seniority(case(), candidate(seniority=2), Policy())

    def test_a_peer_of_the_same_level_may_support(self):
        assert not breaks_seniority(case(), candidate(seniority=3), Policy())

    def test_someone_more_senior_may_support(self):
        assert not breaks_seniority(case(), candidate(seniority=5), Policy())

    def test_a_group_case_names_nobody_and_has_no_seniority_to_protect(self):
        assert not breaks_seniority(case(worker=None), candidate(seniority=1), Policy())

    def test_a_worker_the_directory_does_not_know_is_treated_as_the_most_senior(self):
        unknown = case(worker=None, worker_unchecked=True)
        for level in range(1, 6):  # a student was proposed for such a worker before
            assert breaks_seniority(unknown, candidate(seniority=level), Policy())
        assert not breaks_seniority(unknown, candidate(seniority=6), Policy())
        juniors = [candidate(seniority=1), candidate("st-c2", seniority=4)]
        assert decide(unknown, juniors, Policy(), limit=5).ranked == []


class TestNonEvaluator:
    def test_someone_who_evaluates_the_worker_is_never_offered(self):
        assert breaks_non_evaluator(case(evaluators=frozenset({"st-cand"})), candidate(), Policy())

    def test_someone_outside_the_worker_s_evaluators_may_be_offered(self):
        assert not breaks_non_evaluator(case(evaluators=frozenset({"st-boss"})), candidate(), Policy())

    def test_evaluators_are_the_whole_reporting_line_and_the_declared_ones(self):
        reports_to = {"st-w": "st-m", "st-m": "st-d", "st-d": "st-vp", "st-vp": None}
        declared = {"st-w": ["st-preceptor"]}
        assert evaluators_of("st-w", reports_to, declared) == {"st-m", "st-d", "st-vp", "st-preceptor"}

    def test_a_cycle_in_the_reporting_line_terminates(self):
        assert evaluators_of("st-a", {"st-a": "st-b", "st-b": "st-a"}, {}) == {"st-b"}


class TestRole:
    def test_a_crisis_goes_only_to_a_mental_health_professional(self):
        crisis = case(crisis=True)
        assert breaks_role(crisis, candidate(), Policy())
        assert not breaks_role(crisis, candidate(mental_health_professional=True), Policy())

    def test_nobody_supports_themself(self):
        assert breaks_role(case(), candidate("st-worker"), Policy())

    def test_a_peer_supporter_may_take_a_non_crisis_case(self):
        assert not breaks_role(case(), candidate(), Policy())


def test_each_other_hard_rule_is_recorded_under_its_name():
    policy = Policy(deployment_cap=2)
    assert first_broken_rule(case(), candidate(eligible=False), policy) is MatchRule.CERTIFICATION
    assert first_broken_rule(case(), candidate(paused=True), policy) is MatchRule.PAUSED
    assert first_broken_rule(case(), candidate(deployments_in_window=2), policy) is MatchRule.DEPLOYMENT_CAP
    assert first_broken_rule(case(involved=frozenset({"st-cand"})), candidate(), policy) is MatchRule.INVOLVED
    assert (
        first_broken_rule(case(excluded_by_worker=frozenset({"st-cand"})), candidate(), policy)
        is MatchRule.EXCLUDED_BY_WORKER
    )
    assert (
        first_broken_rule(case(), candidate(dual_relationships=frozenset({"st-worker"})), policy)
        is MatchRule.DUAL_RELATIONSHIP
    )


def test_the_on_duty_primary_ranks_first_and_ties_go_to_the_least_recently_deployed():
    pool = [
        candidate("st-a", last_deployed_seq=9),
        candidate("st-b", last_deployed_seq=1),
        candidate("st-p", on_duty=DutyLayer.PRIMARY),
        candidate("st-k", on_duty=DutyLayer.BACKUP),
    ]
    ranked = [r.candidate.person.staff_ref for r in decide(case(), pool, Policy(), limit=10).ranked]
    assert ranked == ["st-p", "st-k", "st-b", "st-a"]


# --- properties over random directories ---------------------------------------------

refs = st.sampled_from([f"st-{i:02d}" for i in range(12)])
candidates_st = st.builds(
    lambda ref, seniority, eligible, paused, mh, deployments, duty: Candidate(
        person=Person(ref, "north", "nursing", seniority=seniority),
        eligible=eligible,
        paused=paused,
        mental_health_professional=mh,
        deployments_in_window=deployments,
        on_duty=duty,
    ),
    refs,
    st.integers(1, 6),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.integers(0, 3),
    st.sampled_from([None, DutyLayer.PRIMARY, DutyLayer.BACKUP]),
)
cases_st = st.builds(
    lambda seniority, evaluators, crisis, excluded, involved: Case(
        site_id="north",
        worker=Person("st-00", "north", "nursing", seniority=seniority),
        evaluators=frozenset(evaluators),
        crisis=crisis,
        excluded_by_worker=frozenset(excluded),
        involved=frozenset(involved),
    ),
    st.integers(1, 6),
    st.sets(refs, max_size=4),
    st.booleans(),
    st.sets(refs, max_size=3),
    st.sets(refs, max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(cases_st, st.lists(candidates_st, max_size=15), st.integers(1, 3))
def test_no_proposal_ever_contains_a_candidate_who_breaks_a_hard_rule(the_case, pool, cap):
    policy = Policy(deployment_cap=cap)
    for ranked in decide(the_case, pool, policy, limit=50).ranked:
        c = ranked.candidate
        assert c.person.seniority >= the_case.worker.seniority
        assert c.person.staff_ref not in the_case.evaluators
        assert c.eligible and not c.paused and c.deployments_in_window < cap
        assert not the_case.crisis or c.mental_health_professional
        assert c.person.staff_ref not in the_case.excluded_by_worker | the_case.involved


@settings(max_examples=300, deadline=None)
@given(cases_st, st.lists(candidates_st, max_size=15))
def test_a_proposal_exists_whenever_an_eligible_candidate_exists(the_case, pool):
    policy = Policy()
    decision = decide(the_case, pool, policy, limit=5)
    anyone = any(first_broken_rule(the_case, c, policy) is None for c in pool)
    assert decision.matched == anyone
    assert sum(decision.excluded.values()) + sum(
        1 for c in pool if first_broken_rule(the_case, c, policy) is None
    ) == len(pool)


class TestGroupsAndPreferences:
    def test_a_group_needs_a_team_of_at_least_two_and_at_most_the_largest_team(self):
        from matching.rules import team_size

        policy = Policy(people_per_supporter=6, largest_team=6)
        assert team_size(None, policy) == 1
        assert team_size(3, policy) == 2  # never one supporter alone with a group
        assert team_size(14, policy) == 3
        assert team_size(400, policy) == 6

    def test_a_preferred_gender_ranks_first_but_excludes_nobody(self):
        def person(ref: str, gender: str) -> Candidate:
            return Candidate(person=Person(ref, "north", "nursing", 3, gender=gender), eligible=True)

        decision = decide(
            case(preferred_gender="man"),
            [person("st-a1", "woman"), person("st-b1", "man")],
            Policy(),
            limit=5,
        )
        assert [r.candidate.person.staff_ref for r in decision.ranked] == ["st-b1", "st-a1"]

    def test_a_worker_who_asks_for_distance_gets_another_site_first(self):
        near = Candidate(person=Person("st-near", "north", "nursing", 3), eligible=True)
        far = Candidate(person=Person("st-far", "south", "nursing", 3), eligible=True)
        ranked = decide(case(prefers_other_site=True), [near, far], Policy(), limit=5).ranked
        assert ranked[0].candidate.person.staff_ref == "st-far"
        ranked = decide(case(), [near, far], Policy(), limit=5).ranked
        assert ranked[0].candidate.person.staff_ref == "st-near"


def test_a_profession_is_published_only_as_its_coarse_group():
    assert profession_group("nursing") is ProfessionGroup.NURSING
    assert profession_group("social-work") is ProfessionGroup.ALLIED_HEALTH  # the directory's spelling
    assert profession_group("physician") is ProfessionGroup.MEDICINE
    assert profession_group("orthoptics") is ProfessionGroup.OTHER  # rare: never its own cell
    assert profession_group(None) is ProfessionGroup.NOT_KNOWN  # not in the directory
