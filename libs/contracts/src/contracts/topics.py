"""Every Kafka topic of the platform, in one place.

A topic carries one stream of facts; its events are keyed by ``site_id`` so the events of
one site keep their order. The ``.v1`` suffix is the topic's contract generation: a change
that old consumers could not read goes to a new topic, never into this one.
"""

from typing import Final

REFERRALS: Final = "pss.intake.referrals.v1"
# a referral's submission apart from the rest of its life: oncall and training follow a case's
# life (its endings, its contacts) but not its submissions, and a consumer fetches every event
# of a topic it reads, one fetch an event when they come one at a time. Matching orders the two
# itself: a submission it sees after its referral ended proposes nobody.
SUBMISSIONS: Final = "pss.intake.submissions.v1"
PROPOSALS: Final = "pss.matching.proposals.v1"
# who exists where: the sites an authority declared and the people of its directory (ids only)
DIRECTORY: Final = "pss.matching.directory.v1"
PAGES: Final = "pss.oncall.pages.v1"
# a page's acknowledgement apart from the paging chain (pages sent, escalated, exhausted: one
# site's chain in order on one partition, for a paging gateway): intake, matching and training
# read the acknowledgements only, and fetched every page sent only to ignore it
ACKNOWLEDGEMENTS: Final = "pss.oncall.acknowledgements.v1"
DUTY: Final = "pss.oncall.duty.v1"
CERTIFICATIONS: Final = "pss.training.certifications.v1"
ELIGIBILITY: Final = "pss.training.eligibility.v1"
SUPPORTER_CARE: Final = "pss.training.supporter-care.v1"

ALL: Final = (
    REFERRALS,
    SUBMISSIONS,
    PROPOSALS,
    DIRECTORY,
    PAGES,
    ACKNOWLEDGEMENTS,
    DUTY,
    CERTIFICATIONS,
    ELIGIBILITY,
    SUPPORTER_CARE,
)


def dead_letter(topic: str) -> str:
    """Where a message of ``topic`` goes when a consumer cannot process it."""
    return f"{topic}.dead-letter"
