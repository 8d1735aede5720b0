"""The events training reacts to: none yet (it is a source of facts)."""

from servicekit.consumer import Subscriptions


def make_subscriptions() -> Subscriptions:
    return Subscriptions()
