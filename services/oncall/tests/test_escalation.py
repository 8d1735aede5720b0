"""The escalation chain as pure rules."""

from contracts.types import RecipientRole
from oncall.escalation import EpisodeStatus, Link, PageStatus, build_chain, may_answer, next_step


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
