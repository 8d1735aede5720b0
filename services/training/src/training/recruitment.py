"""How a colleague becomes a peer supporter (DOMAIN.md, "Training and certification";
seed 001, "Recruitment"): a state machine, pure, so every refusal can say exactly why."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    INTERESTED = "interested"  # expression of interest
    APPLIED = "applied"  # application in; references are collected now
    FITNESS_INTERVIEWED = "fitness_interviewed"  # interview for mental fitness passed
    SKILLS_INTERVIEWED = "skills_interviewed"  # skills interview passed
    AGREEMENT_SIGNED = "agreement_signed"  # confidentiality and performance agreement
    TRAINED = "trained"  # every required course completed and current
    ACTIVE = "active"  # offered for matching while certified and not paused
    WITHDRAWN = "withdrawn"  # the person's choice, at any point
    DECLINED = "declined"  # the program's decision, before activation


class ReferenceKind(StrEnum):
    PEER = "peer"
    MANAGER = "manager"


# two peer references and one manager reference (seed 001, ForYOU)
REFERENCES_NEEDED: Mapping[ReferenceKind, int] = {ReferenceKind.PEER: 2, ReferenceKind.MANAGER: 1}

PATH = (
    Stage.INTERESTED,
    Stage.APPLIED,
    Stage.FITNESS_INTERVIEWED,
    Stage.SKILLS_INTERVIEWED,
    Stage.AGREEMENT_SIGNED,
    Stage.TRAINED,
    Stage.ACTIVE,
)
CLOSED = frozenset({Stage.WITHDRAWN, Stage.DECLINED})


class TransitionRefused(Exception):
    """The step cannot be taken now; the message says what is needed first."""


@dataclass(frozen=True)
class Candidacy:
    stage: Stage
    references: Mapping[ReferenceKind, int]  # distinct referees received, per kind
    missing_courses: Collection[str]  # required courses not completed or not current


def references_missing(references: Mapping[ReferenceKind, int]) -> dict[ReferenceKind, int]:
    return {
        kind: needed - references.get(kind, 0)
        for kind, needed in REFERENCES_NEEDED.items()
        if references.get(kind, 0) < needed
    }


def check_transition(candidacy: Candidacy, to: Stage) -> None:
    """Raises TransitionRefused unless ``to`` may follow the candidacy's stage now."""
    at = candidacy.stage
    if at in CLOSED:
        raise TransitionRefused(
            f"this candidacy was {at.value}; a new expression of interest starts a new one"
        )
    if to is Stage.WITHDRAWN:
        return  # stepping out is always allowed
    if to is Stage.DECLINED:
        if at is Stage.ACTIVE:
            raise TransitionRefused(
                "an active supporter is not declined; they withdraw, or their certification lapses"
            )
        return
    if to is at:
        raise TransitionRefused(f"the candidate is already {at.value}")
    following = PATH[PATH.index(at) + 1] if at is not Stage.ACTIVE else None
    if to is not following:
        expected = f"the next step is {following.value}" if following else "there is no step after active"
        raise TransitionRefused(f"cannot go from {at.value} to {to.value}: {expected}")
    if to is Stage.FITNESS_INTERVIEWED and (short := references_missing(candidacy.references)):
        still = " and ".join(f"{n} more {kind.value} reference{'s' * (n > 1)}" for kind, n in short.items())
        raise TransitionRefused(
            f"the mental-fitness interview needs two peer references and one manager reference first: {still}"
        )
    if to is Stage.TRAINED and candidacy.missing_courses:
        raise TransitionRefused(
            "trained means every required course is completed and current; still missing: "
            + ", ".join(sorted(candidacy.missing_courses))
        )
