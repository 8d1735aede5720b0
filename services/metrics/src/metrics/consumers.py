"""metrics counts what the other services decided."""

from servicekit.consumer import Subscriptions

from metrics import handlers
from metrics.aggregation import COUNTED


def make_subscriptions() -> Subscriptions:
    subscriptions = Subscriptions()
    for event_type in COUNTED:
        subscriptions.on(event_type)(handlers.count)
    return subscriptions
