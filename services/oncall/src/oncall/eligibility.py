"""Who may still be paged: oncall asks matching for a fresh eligible list before it pages
the next supporter of a running episode (someone proposed may have lapsed, paused or
reached their deployment cap since the proposal)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

import httpx
from servicekit.telemetry import current_traceparent

from oncall.outgoing import Outgoing

log = logging.getLogger(__name__)


# the supporters eligible for the referral now; None when it cannot be told
EligibleNow = Callable[[uuid.UUID], Awaitable[frozenset[str] | None]]


async def trust_the_snapshot(_referral_id: uuid.UUID) -> frozenset[str] | None:
    """No re-check configured: the episode's chain is paged as it was snapshotted."""
    return None


class AskMatching:
    """Asks matching's API, briefly. When matching does not answer in time the chain is
    paged as snapshotted: reaching a person late is worse than paging a lapsed one."""

    def __init__(
        self, base_url: str, token: str, *, timeout_seconds: float = 2.0, http: Outgoing | None = None
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout_seconds
        self._http = http or Outgoing()

    async def __call__(self, referral_id: uuid.UUID) -> frozenset[str] | None:
        headers = {"Authorization": f"Bearer {self._token}"}
        traceparent = current_traceparent()
        if traceparent:
            headers["traceparent"] = traceparent
        try:
            response = await self._http.client().get(
                f"{self._base_url}/proposals/{referral_id}/eligible-now",
                headers=headers,
                timeout=self._timeout,
            )
            response.raise_for_status()
            return frozenset(response.json()["eligible"])
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            log.warning(
                "matching did not answer the re-check; paging the snapshot",
                extra={"referral_id": str(referral_id), "error": type(exc).__name__},
            )
            return None
