"""Every Kafka topic of the platform, in one place.

A topic carries one stream of facts; its events are keyed by ``site_id`` so the events of
one site keep their order. The ``.v1`` suffix is the topic's contract generation: a change
that old consumers could not read goes to a new topic, never into this one.
"""

from typing import Final

REFERRALS: Final = "pss.intake.referrals.v1"
PROPOSALS: Final = "pss.matching.proposals.v1"
# who exists where: the sites an authority declared and the people of its directory (ids only)
DIRECTORY: Final = "pss.matching.directory.v1"
PAGES: Final = "pss.oncall.pages.v1"
DUTY: Final = "pss.oncall.duty.v1"
CERTIFICATIONS: Final = "pss.training.certifications.v1"
ELIGIBILITY: Final = "pss.training.eligibility.v1"
SUPPORTER_CARE: Final = "pss.training.supporter-care.v1"

ALL: Final = (REFERRALS, PROPOSALS, DIRECTORY, PAGES, DUTY, CERTIFICATIONS, ELIGIBILITY, SUPPORTER_CARE)


def dead_letter(topic: str) -> str:
    """Where a message of ``topic`` goes when a consumer cannot process it."""
    return f"{topic}.dead-letter"
