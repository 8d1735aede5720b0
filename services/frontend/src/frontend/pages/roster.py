"""The site's supporters: eligible or not and why, paused, deployments."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from contracts.types import SiteId
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from frontend.gateway import as_time
from frontend.web import SignedIn, for_site, render, services, translator

router = APIRouter()


@router.get("/sites/{site_id}/roster", response_class=HTMLResponse)
async def roster(site_id: SiteId, request: Request, session: SignedIn) -> HTMLResponse:
    for_site(site_id, session)
    t = translator(request)
    calls = services(request, session)
    training, matching, site_zone = await asyncio.gather(
        calls.training_roster(site_id), calls.matching_roster(site_id), calls.site_zone(site_id)
    )
    seen = {s["staff_ref"]: s for s in matching["supporters"]}
    now = datetime.now(UTC)
    people = []
    for record in training:
        expiry = record.get("next_expiry")
        days = None
        if expiry:
            days = int((as_time(expiry["expires_at"]) - now).total_seconds() // 86400)
        people.append(
            {
                **record,
                "matching": seen.get(record["staff_ref"], {}),
                "expiry_days": days,
                "missing_names": [t.label("course", code) for code in record.get("courses_missing", [])],
            }
        )
    return render(request, "roster.html", site=site_id, section="roster", people=people, site_zone=site_zone)
