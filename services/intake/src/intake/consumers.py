"""The events intake reacts to."""

from contracts.events import MatchOverridden, MatchProposed, PageAcknowledged
from servicekit.consumer import Subscriptions

from intake.casework import events as learned


def make_subscriptions() -> Subscriptions:
    subscriptions = Subscriptions()
    subscriptions.on(MatchProposed)(learned.on_match_proposed)
    # a coordinator's override matches a case matching could not (or reassigns it)
    subscriptions.on(MatchOverridden)(learned.on_match_overridden)
    subscriptions.on(PageAcknowledged)(learned.on_page_acknowledged)
    return subscriptions
