"""metrics counts what the other services decided."""

from contracts.events import MatchUnmatched, PageAcknowledged, PageEscalated, ReferralSubmitted
from servicekit.consumer import Subscriptions

from metrics import handlers


def make_subscriptions() -> Subscriptions:
    subscriptions = Subscriptions()
    for event_type in (ReferralSubmitted, MatchUnmatched, PageEscalated, PageAcknowledged):
        subscriptions.on(event_type)(handlers.count)
    return subscriptions
