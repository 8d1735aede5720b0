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

from matching import handlers


def make_subscriptions(config: handlers.MatchingConfig) -> Subscriptions:
    subscriptions = Subscriptions()
    subscriptions.on(ReferralSubmitted)(handlers.on_referral_submitted(config))
    # a case that ended takes no override
    for ended in (ReferralClosed, ReferralWithdrawn, ReferralDeclined):
        subscriptions.on(ended)(handlers.on_referral_ended)
    subscriptions.on(SupporterEligibilityChanged)(handlers.on_eligibility_changed)
    subscriptions.on(DutyChanged)(handlers.on_duty_changed)
    subscriptions.on(PageAcknowledged)(handlers.on_page_acknowledged)
    subscriptions.on(SupporterAvailabilityChanged)(handlers.on_availability_changed)
    return subscriptions
