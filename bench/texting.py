"""Pages sent as texts in the flow bench (``--deliver-by text``), as a deployment sends them:
every seeded supporter gets a phone as their route, and oncall texts each page through the
development gateway (``pss_dev.local.sms_gateway``, which speaks as Twilio does). The gateway
runs in a process of its own, outside the platform's CPU table, as the authority's gateway
would; it writes each text it takes to ``texts.jsonl`` in its directory, so the bench can
count them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from pss_dev.local.sms_gateway import SmsGateway
from pss_dev.seed import Site

SERVE = """
import sys, time
from pathlib import Path
from pss_dev.local.sms_gateway import SmsGateway
gateway = SmsGateway(Path(sys.argv[1]), account=sys.argv[2], token=sys.argv[3])
gateway.port = int(sys.argv[4])
gateway.start()
while True:
    time.sleep(3600)
"""


class TextGateway:
    """The development gateway in its own process; ``oncall_env`` points oncall at it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._gateway = SmsGateway(directory)  # its port, account and token; started elsewhere
        self._process: subprocess.Popen[bytes] | None = None

    def oncall_env(self) -> dict[str, str]:
        return self._gateway.oncall_env()

    @property
    def url(self) -> str:
        return self._gateway.url

    @property
    def credentials(self) -> tuple[str, str]:
        """The account and the token oncall authenticates with."""
        return self._gateway.account, self._gateway.token

    def start(self) -> TextGateway:
        g = self._gateway
        self._process = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(self.directory), g.account, g.token, str(g.port)]
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(g.url, timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the development SMS gateway did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait()

    def wait_for(self, count: int, since: float, within: float = 900) -> float | None:
        """Seconds from ``since`` (``time.perf_counter()``) until the gateway had taken
        ``count`` texts in all; None if it had not within ``within`` seconds."""
        deadline = time.perf_counter() + within
        while (taken := self.texts()) < count and time.perf_counter() < deadline:
            time.sleep(0.2)
        return round(time.perf_counter() - since, 1) if taken >= count else None

    def texts(self) -> int:
        """Texts the gateway has taken so far."""
        log = self.directory / "texts.jsonl"
        if not log.exists():
            return 0
        with log.open("rb") as lines:
            return sum(1 for _ in lines)


def phone_of(n: int) -> str:
    return f"+1555{n:07d}"


def route_pages_by_text(oncall: str, admin_token: str, sites: Sequence[Site], *, threads: int = 6) -> int:
    """Give every certified supporter of ``sites`` a phone as their one route, as the
    authority does from its paging directory; returns how many."""
    supporters = [p.ref for s in sites for p in s.people if p.supporter and p.certified]

    def one(client: httpx.Client, numbered: tuple[int, str]) -> None:
        n, ref = numbered
        answer = client.put(
            f"{oncall}/people/{ref}/contact-routes", json=[{"channel": "sms", "address": phone_of(n)}]
        )
        if answer.status_code != 204:
            raise RuntimeError(f"routes for {ref}: HTTP {answer.status_code}: {answer.text}")

    # one client for every thread (a client each built an SSL context each)
    with (
        httpx.Client(headers={"Authorization": f"Bearer {admin_token}"}, timeout=60) as client,
        ThreadPoolExecutor(threads) as pool,
    ):
        list(pool.map(lambda numbered: one(client, numbered), enumerate(supporters)))
    return len(supporters)
