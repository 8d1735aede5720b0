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
