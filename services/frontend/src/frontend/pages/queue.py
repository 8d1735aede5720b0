"""The site's queue: what needs the coordinator first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from contracts.types import SiteId
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from frontend.queue import build_queue, counts
from frontend.session import Session
from frontend.web import SignedIn, for_site, render, services

router = APIRouter()


async def _queue(request: Request, site_id: str, session: Session) -> list[Any]:
    calls = services(request, session)
    referrals, episodes, names = await asyncio.gather(
        calls.open_referrals(site_id), calls.episodes(site_id), calls.supporter_names(site_id)
    )
    return build_queue(referrals, episodes, datetime.now(UTC), names)


@router.get("/sites/{site_id}/queue", response_class=HTMLResponse)
async def queue(site_id: SiteId, request: Request, session: SignedIn) -> HTMLResponse:
    for_site(site_id, session)
    rows = await _queue(request, site_id, session)
    refresh = request.app.state.settings.queue_refresh_seconds
    return render(
        request,
        "queue.html",
        site=site_id,
        rows=rows,
        counts=counts(rows),
        refresh_seconds=refresh,
        section="queue",
    )


@router.get("/sites/{site_id}/queue/rows", response_class=HTMLResponse)
async def queue_rows(site_id: SiteId, request: Request, session: SignedIn) -> HTMLResponse:
    """The counts and the rows alone, for the page to refresh itself."""
    for_site(site_id, session)
    rows = await _queue(request, site_id, session)
    return render(request, "_queue_refresh.html", site=site_id, rows=rows, counts=counts(rows))
