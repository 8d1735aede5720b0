"""metrics counts what the other services decided."""

from contracts.events import (
    MatchUnmatched,
    PageAcknowledged,
    PageEscalated,
    ReferralClosed,
    ReferralContacted,
    ReferralDeclined,
    ReferralMet,
    ReferralOffered,
    ReferralSubmitted,
    ReferralWithdrawn,
)
from servicekit.consumer import Subscriptions

from metrics import handlers


def make_subscriptions() -> Subscriptions:
    subscriptions = Subscriptions()
    for event_type in (
        ReferralSubmitted,
        ReferralOffered,
        ReferralDeclined,
        ReferralWithdrawn,
        ReferralContacted,
        ReferralMet,
        ReferralClosed,
        MatchUnmatched,
        PageEscalated,
        PageAcknowledged,
    ):
        subscriptions.on(event_type)(handlers.count)
    return subscriptions
