"""The events oncall reacts to."""

from contracts.events import MatchProposed
from servicekit.consumer import Subscriptions

from oncall import handlers


def make_subscriptions(policy: handlers.PagingPolicy) -> Subscriptions:
    subscriptions = Subscriptions()
    subscriptions.on(MatchProposed)(handlers.on_match_proposed(policy))
    return subscriptions
