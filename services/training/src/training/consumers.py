"""The events training reacts to: who took a referral, and its close, to offer the
supporter a debrief after the encounter."""

from contracts.events import PageAcknowledged, ReferralClosed, SiteDeclared
from servicekit.consumer import Subscriptions

from training import sites
from training.supporter_care import handlers as supporter_care


def make_subscriptions() -> Subscriptions:
    subscriptions = Subscriptions()
    subscriptions.on(PageAcknowledged)(supporter_care.on_page_acknowledged)
    subscriptions.on(ReferralClosed)(supporter_care.on_referral_closed)
    # the sites of the authority: nobody is registered at one nobody declared
    subscriptions.on(SiteDeclared)(sites.on_site_declared)
    return subscriptions
