"""The recruitment pipeline's rules (training.recruitment), without a database."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from training.recruitment import (
    CLOSED,
    PATH,
    Candidacy,
    ReferenceKind,
    Stage,
    TransitionRefused,
    check_transition,
)

ALL_REFERENCES = {ReferenceKind.PEER: 2, ReferenceKind.MANAGER: 1}


def at(stage: Stage, references=ALL_REFERENCES, missing=()) -> Candidacy:  # type: ignore[no-untyped-def]
    return Candidacy(stage=stage, references=references, missing_courses=missing)


def test_the_whole_path_can_be_walked_step_by_step() -> None:
    for here, following in pairwise(PATH):
        check_transition(at(here), following)  # raises if refused


@pytest.mark.parametrize(
    ("here", "to"),
    [
        (Stage.INTERESTED, Stage.FITNESS_INTERVIEWED),  # skips the application
        (Stage.APPLIED, Stage.ACTIVE),
        (Stage.SKILLS_INTERVIEWED, Stage.TRAINED),  # skips the agreement
        (Stage.TRAINED, Stage.APPLIED),  # backwards
    ],
)
def test_a_skipped_or_backward_step_is_refused_and_names_the_next_step(here: Stage, to: Stage) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_transition(at(here), to)
    following = PATH[PATH.index(here) + 1]
    assert f"the next step is {following.value}" in str(refused.value)


def test_the_mental_fitness_interview_waits_for_two_peer_and_one_manager_reference() -> None:
    with pytest.raises(TransitionRefused, match="1 more peer reference and 1 more manager reference"):
        check_transition(at(Stage.APPLIED, references={ReferenceKind.PEER: 1}), Stage.FITNESS_INTERVIEWED)
    with pytest.raises(TransitionRefused, match=r"2 more peer references$"):
        check_transition(at(Stage.APPLIED, references={ReferenceKind.MANAGER: 1}), Stage.FITNESS_INTERVIEWED)
    check_transition(at(Stage.APPLIED), Stage.FITNESS_INTERVIEWED)


def test_trained_means_every_required_course_is_current() -> None:
    with pytest.raises(TransitionRefused, match="still missing: confidentiality, crisis-management"):
        check_transition(
            at(Stage.AGREEMENT_SIGNED, missing=("crisis-management", "confidentiality")), Stage.TRAINED
        )


def test_an_active_supporter_may_withdraw_but_is_not_declined() -> None:
    check_transition(at(Stage.ACTIVE), Stage.WITHDRAWN)
    with pytest.raises(TransitionRefused, match="not declined"):
        check_transition(at(Stage.ACTIVE), Stage.DECLINED)


def test_repeating_the_present_stage_says_so() -> None:
    with pytest.raises(TransitionRefused, match="already applied"):
        check_transition(at(Stage.APPLIED), Stage.APPLIED)


@given(st.sampled_from(sorted(CLOSED)), st.sampled_from(list(Stage)))
def test_nothing_follows_a_closed_candidacy(closed: Stage, to: Stage) -> None:
    with pytest.raises(TransitionRefused, match="a new expression of interest starts a new one"):
        check_transition(at(closed), to)


@given(st.sampled_from(PATH[:-1]))
def test_withdrawing_and_declining_are_open_at_every_stage_before_active(here: Stage) -> None:
    check_transition(at(here, references={}, missing=("x",)), Stage.WITHDRAWN)
    check_transition(at(here, references={}, missing=("x",)), Stage.DECLINED)


@given(st.sampled_from(PATH), st.sampled_from(list(Stage)))
def test_the_only_forward_move_is_the_next_step(here: Stage, to: Stage) -> None:
    """Property: from any open stage, with every condition met, exactly the next step on
    the path (and withdrawn/declined) is allowed."""
    try:
        check_transition(at(here), to)
        allowed = True
    except TransitionRefused:
        allowed = False
    following = PATH[PATH.index(here) + 1] if here is not Stage.ACTIVE else None
    expected = to is following or to is Stage.WITHDRAWN or (to is Stage.DECLINED and here is not Stage.ACTIVE)
    assert allowed is expected
