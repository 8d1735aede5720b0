"""The events matching reacts to."""

from contracts.events import (
    DutyChanged,
    PageAcknowledged,
    ReferralClosed,
    ReferralDeclined,
    ReferralSubmitted,
    ReferralWithdrawn,
    SupporterAvailabilityChanged,
    SupporterEligibilityChanged,
)
from servicekit.consumer import Subscriptions

from matching import projections
from matching.proposals import handlers as proposals


def make_subscriptions(config: proposals.MatchingConfig) -> Subscriptions:
    subscriptions = Subscriptions()
    subscriptions.on(ReferralSubmitted)(proposals.on_referral_submitted(config))
    # a case that ended takes no override
    for ended in (ReferralClosed, ReferralWithdrawn, ReferralDeclined):
        subscriptions.on(ended)(proposals.on_referral_ended)
    subscriptions.on(SupporterEligibilityChanged)(projections.on_eligibility_changed)
    subscriptions.on(DutyChanged)(projections.on_duty_changed)
    subscriptions.on(PageAcknowledged)(projections.on_page_acknowledged)
    subscriptions.on(SupporterAvailabilityChanged)(projections.on_availability_changed)
    return subscriptions
