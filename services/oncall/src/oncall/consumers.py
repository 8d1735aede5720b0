"""The events oncall reacts to."""

from contracts.events import (
    CertificationExpiring,
    DebriefPrompted,
    MatchOverridden,
    MatchProposed,
    MatchUnmatched,
    PersonListed,
    ReferralClosed,
    ReferralContacted,
    ReferralDeclined,
    ReferralMet,
    ReferralWithdrawn,
    SiteDeclared,
    SupporterEligibilityChanged,
)
from servicekit.consumer import Subscriptions

from oncall import directory, reminders
from oncall.paging import endings, episodes
from oncall.paging.policy import PagingPolicy
from oncall.service_levels import handlers as service_levels


def make_subscriptions(policy: PagingPolicy) -> Subscriptions:
    subscriptions = Subscriptions()
    subscriptions.on(MatchProposed)(episodes.on_match_proposed(policy))
    subscriptions.on(MatchUnmatched)(episodes.on_match_unmatched(policy))
    subscriptions.on(MatchOverridden)(episodes.on_match_overridden(policy))
    # a case that ends, however it ends, stops its paging at once
    subscriptions.on(ReferralWithdrawn)(endings.on_referral_withdrawn)
    subscriptions.on(ReferralClosed)(endings.on_referral_closed)
    subscriptions.on(ReferralDeclined)(endings.on_referral_declined)
    # the service-level clocks stop when intake records the call back and the meeting
    subscriptions.on(ReferralContacted)(service_levels.on_referral_contacted)
    subscriptions.on(ReferralMet)(service_levels.on_referral_met)
    # training's reminders ahead of an expiry are sent like any other message
    subscriptions.on(CertificationExpiring)(reminders.on_certification_expiring)
    subscriptions.on(DebriefPrompted)(reminders.on_debrief_prompted)
    # who exists where: a schedule names only the site's own supporters and people
    subscriptions.on(SiteDeclared)(directory.on_site_declared)
    subscriptions.on(PersonListed)(directory.on_person_listed)
    subscriptions.on(SupporterEligibilityChanged)(directory.on_eligibility_changed)
    return subscriptions
