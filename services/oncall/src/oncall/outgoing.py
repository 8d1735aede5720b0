"""The HTTP calls oncall makes to others: a page's text or phone call to the gateway, a
webhook, matching's re-check before the next supporter is paged.

They share one client, kept for the process. A client made for each call built an SSL
context each time, the CA bundle parsed anew: 35 to 37 ms of oncall's CPU a text on the
development machine, where a text on this client costs 3.0 (the bare POST 2.7;
``bench/delivery_cost.py``): at 50 pages a second, more than both cores. It also connected
anew each time; a kept connection saves a page in a burst its handshake.
"""

from __future__ import annotations

import asyncio
import functools
import ssl

import httpx

# an idle connection is let go sooner than a gateway lets it go (most keep one 60 s or more),
# so that a page is not sent on a connection the other end has just closed
KEEP_IDLE_SECONDS = 15.0


@functools.cache
def _tls() -> ssl.SSLContext:
    # once a process: building it is most of what a client made anew cost
    return httpx.create_ssl_context()


class Outgoing:
    """One kept ``httpx.AsyncClient``, made on first use in the running event loop and
    closed when the service stops (``Service.on_stop``). Each call gives its own timeout;
    redirects are never followed (a webhook's allow-list is checked on its address)."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client.is_closed or self._loop is not loop:
            # a client's connections belong to the loop they were made in
            self._client = httpx.AsyncClient(
                verify=_tls(),
                follow_redirects=False,
                limits=httpx.Limits(keepalive_expiry=KEEP_IDLE_SECONDS),
            )
            self._loop = loop
        return self._client

    async def close(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = self._loop = None
