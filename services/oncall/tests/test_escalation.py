"""The escalation chain as pure rules."""

from datetime import timedelta

from contracts.types import RecipientRole, Urgency
from oncall.escalation import (
    EpisodeStatus,
    Link,
    PageStatus,
    SiteTimeouts,
    acknowledge_timeout,
    build_chain,
    escalates_on_decline,
    may_answer,
    next_step,
)


def test_the_chain_is_the_matched_supporters_then_the_coordinator_then_the_fallback():
    chain = build_chain(["st-p", "st-b", "st-x"], coordinator="st-c", fallback="st-f", supporters=2)
    assert chain == [
        Link("st-p", RecipientRole.SUPPORTER),
        Link("st-b", RecipientRole.SUPPORTER),
        Link("st-c", RecipientRole.COORDINATOR),
        Link("st-f", RecipientRole.AUTHORITY_FALLBACK),
    ]


def test_a_supporter_listed_twice_is_paged_once():
    assert [link.recipient for link in build_chain(["st-p", "st-p", "st-b"], coordinator=None)] == [
        "st-p",
        "st-b",
    ]


def test_the_step_after_the_last_exhausts_the_episode():
    chain = build_chain(["st-p"], coordinator="st-c")
    assert next_step(chain, 0) == 1
    assert next_step(chain, 1) is None


def test_a_late_acknowledgement_of_an_expired_page_counts_while_the_episode_is_paging():
    assert may_answer(EpisodeStatus.PAGING, PageStatus.EXPIRED)
    assert may_answer(EpisodeStatus.PAGING, PageStatus.SENT)
    assert not may_answer(EpisodeStatus.ACKNOWLEDGED, PageStatus.SENT)
    assert not may_answer(EpisodeStatus.PAGING, PageStatus.DECLINED)


def test_a_group_case_pages_every_proposed_supporter_at_once():
    from oncall.escalation import broadcast_steps, team_complete

    chain = build_chain(["st-a1", "st-b1", "st-c1", "st-d1"], coordinator="st-co1", supporters=4)
    assert broadcast_steps(chain, team_size=3) == 4  # all four supporters, not the coordinator
    assert broadcast_steps(chain, team_size=1) == 1  # one at a time for a single worker
    assert not team_complete(2, 3) and team_complete(3, 3)


def test_a_clock_is_kept_when_done_in_time_and_missed_when_done_late_or_not_at_all():
    from datetime import UTC, datetime, timedelta

    from oncall.escalation import ClockState, clock_state

    due = datetime(2026, 11, 22, 3, 30, tzinfo=UTC)
    early, late = due - timedelta(minutes=1), due + timedelta(minutes=1)
    assert clock_state(due, None, None, None) is ClockState.RUNNING
    assert clock_state(due, early, None, early) is ClockState.KEPT
    assert clock_state(due, late, due, None) is ClockState.MISSED
    assert clock_state(due, None, due, None) is ClockState.MISSED
    assert clock_state(due, None, None, early) is ClockState.STOPPED


def test_paging_escalated_once_a_page_lapsed_or_was_declined_or_reached_the_coordinator():
    from oncall.escalation import escalated

    supporter, coordinator = RecipientRole.SUPPORTER, RecipientRole.COORDINATOR
    assert not escalated([])
    assert not escalated([(PageStatus.SENT, supporter)])
    # an override cancels the pending pages: that is a choice, not an escalation
    assert not escalated([(PageStatus.CANCELLED, supporter), (PageStatus.ACKNOWLEDGED, supporter)])
    assert escalated([(PageStatus.EXPIRED, supporter), (PageStatus.SENT, supporter)])
    assert escalated([(PageStatus.DECLINED, supporter)])
    assert escalated([(PageStatus.SENT, coordinator)])


def test_a_supporter_no_longer_eligible_is_passed_over_but_never_the_coordinator():
    from oncall.escalation import next_answerable_step

    chain = [
        Link("st-a", RecipientRole.SUPPORTER),
        Link("st-b", RecipientRole.SUPPORTER),
        Link("st-c", RecipientRole.SUPPORTER),
        Link("st-coord", RecipientRole.COORDINATOR),
    ]
    # st-b paused since the proposal: from st-a the chain goes to st-c
    assert next_answerable_step(chain, 0, frozenset({"st-a", "st-c"})) == 2
    # nobody eligible any more: straight to the coordinator, who is never passed over
    assert next_answerable_step(chain, 0, frozenset()) == 3
    # matching did not answer: the chain is paged as snapshotted
    assert next_answerable_step(chain, 0, None) == 1
    # past the coordinator: nothing left
    assert next_answerable_step(chain, 3, frozenset()) is None


# --- which timeout a page waits, and when a decline moves the chain ------------------------

TIMEOUTS = {
    "default": timedelta(minutes=10),
    "crisis_timeout": timedelta(minutes=2),
    "by_urgency": {Urgency.WITHIN_DAYS: timedelta(hours=1)},
}


def test_a_crisis_waits_the_crisis_timeout_whatever_its_urgency():
    assert acknowledge_timeout(True, Urgency.WITHIN_DAYS, **TIMEOUTS) == timedelta(minutes=2)
    assert acknowledge_timeout(True, None, **TIMEOUTS) == timedelta(minutes=2)


def test_a_calmer_request_waits_its_urgencys_timeout_and_the_rest_the_default():
    assert acknowledge_timeout(False, Urgency.WITHIN_DAYS, **TIMEOUTS) == timedelta(hours=1)
    assert acknowledge_timeout(False, Urgency.WITHIN_HOURS, **TIMEOUTS) == timedelta(minutes=10)
    assert acknowledge_timeout(False, None, **TIMEOUTS) == timedelta(minutes=10)


def test_a_sites_own_timeouts_come_first_and_its_default_covers_every_urgency_it_did_not_name():
    site = SiteTimeouts(
        default=timedelta(minutes=15),
        crisis=timedelta(minutes=1),
        by_urgency={Urgency.AFTER_A_WEEK: timedelta(hours=4)},
    )
    assert acknowledge_timeout(True, Urgency.WITHIN_DAYS, **TIMEOUTS, site=site) == timedelta(minutes=1)
    assert acknowledge_timeout(False, Urgency.AFTER_A_WEEK, **TIMEOUTS, site=site) == timedelta(hours=4)
    # the deployment's "within days: 1 hour" gives way to the site's own default
    assert acknowledge_timeout(False, Urgency.WITHIN_DAYS, **TIMEOUTS, site=site) == timedelta(minutes=15)
    assert acknowledge_timeout(False, None, **TIMEOUTS, site=site) == timedelta(minutes=15)


def test_a_site_that_set_only_some_timeouts_keeps_the_deployments_for_the_rest():
    site = SiteTimeouts(crisis=timedelta(seconds=90))
    assert acknowledge_timeout(True, None, **TIMEOUTS, site=site) == timedelta(seconds=90)
    assert acknowledge_timeout(False, Urgency.WITHIN_DAYS, **TIMEOUTS, site=site) == timedelta(hours=1)
    assert acknowledge_timeout(False, Urgency.WITHIN_HOURS, **TIMEOUTS, site=site) == timedelta(minutes=10)


SUPPORTER, COORDINATOR = RecipientRole.SUPPORTER, RecipientRole.COORDINATOR


def test_one_at_a_time_only_the_current_steps_decline_moves_the_chain():
    common = {"team_size": 1, "declined_role": SUPPORTER, "current_role": SUPPORTER, "pages_still_out": 0}
    assert escalates_on_decline(declined_step=1, current_step=1, **common)
    # an older page, already escalated past, declined late: the chain stays where it is
    assert not escalates_on_decline(declined_step=0, current_step=1, **common)


def test_a_broadcast_escalates_early_only_when_no_supporter_paged_can_still_answer():
    group = {"team_size": 3, "declined_role": SUPPORTER, "declined_step": 0, "current_step": 0}
    assert not escalates_on_decline(current_role=SUPPORTER, pages_still_out=2, **group)
    assert escalates_on_decline(current_role=SUPPORTER, pages_still_out=0, **group)
    # the coordinator is already paged: a supporter's late no changes nothing
    assert not escalates_on_decline(current_role=COORDINATOR, pages_still_out=0, **group)


def test_a_coordinators_decline_of_a_group_case_moves_the_chain_as_one_page_would():
    assert escalates_on_decline(
        team_size=3,
        declined_role=COORDINATOR,
        declined_step=4,
        current_step=4,
        current_role=COORDINATOR,
        pages_still_out=1,
    )
