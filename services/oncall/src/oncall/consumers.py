"""The events oncall reacts to."""

from contracts.events import (
    CertificationExpiring,
    DebriefPrompted,
    MatchOverridden,
    MatchProposed,
    MatchUnmatched,
    ReferralClosed,
    ReferralContacted,
    ReferralDeclined,
    ReferralMet,
    ReferralWithdrawn,
)
from servicekit.consumer import Subscriptions

from oncall import handlers


def make_subscriptions(policy: handlers.PagingPolicy) -> Subscriptions:
    subscriptions = Subscriptions()
    subscriptions.on(MatchProposed)(handlers.on_match_proposed(policy))
    subscriptions.on(MatchUnmatched)(handlers.on_match_unmatched(policy))
    subscriptions.on(MatchOverridden)(handlers.on_match_overridden(policy))
    # a case that ends, however it ends, stops its paging at once
    subscriptions.on(ReferralWithdrawn)(handlers.on_referral_withdrawn)
    subscriptions.on(ReferralClosed)(handlers.on_referral_closed)
    subscriptions.on(ReferralDeclined)(handlers.on_referral_declined)
    # the service-level clocks stop when intake records the call back and the meeting
    subscriptions.on(ReferralContacted)(handlers.on_referral_contacted)
    subscriptions.on(ReferralMet)(handlers.on_referral_met)
    # training's reminders ahead of an expiry are sent like any other message
    subscriptions.on(CertificationExpiring)(handlers.on_certification_expiring)
    subscriptions.on(DebriefPrompted)(handlers.on_debrief_prompted)
    return subscriptions
