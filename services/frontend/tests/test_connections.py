"""The front-end lets an idle connection to a service go before the service closes it: a
connection reused just as the service closed it fails the request with no answer, and the
page says the service is unavailable (CI met it once, both sides idle for five seconds)."""

from __future__ import annotations

import httpx
from frontend.bootstrap import CONNECTIONS
from servicekit.settings import KEEP_ALIVE_SECONDS


def test_the_front_end_lets_an_idle_connection_go_before_a_service_closes_it():
    assert CONNECTIONS.keepalive_expiry is not None
    assert CONNECTIONS.keepalive_expiry < KEEP_ALIVE_SECONDS
    # httpx's own default would race the service's
    assert httpx.Limits().keepalive_expiry >= KEEP_ALIVE_SECONDS


def test_the_front_end_keeps_httpx_s_bounds_on_its_connections():
    """Limits given with the keep-alive alone would open connections without bound."""
    assert (CONNECTIONS.max_connections, CONNECTIONS.max_keepalive_connections) == (100, 20)
