"""The events oncall reacts to."""

from contracts.events import MatchProposed
from oncall import handlers
from servicekit.consumer import Subscriptions


def make_subscriptions(policy: handlers.PagingPolicy) -> Subscriptions:
    subscriptions = Subscriptions()
    subscriptions.on(MatchProposed)(handlers.on_match_proposed(policy))
    return subscriptions
