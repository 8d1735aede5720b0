"""The site's schedule in its time zone: who holds each layer, gaps, overrides and swaps."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from contracts.types import DutyLayer, SiteId
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from frontend import charts
from frontend.gateway import Refused
from frontend.i18n import Translator
from frontend.pages.calendar import SHOWN, shown_address
from frontend.refusals import said
from frontend.session import Session
from frontend.web import _STAFF_REF, SignedIn, check_form, for_site, render, services, translator

router = APIRouter()


def _site_zone(calendar: dict[str, Any] | None, request: Request) -> ZoneInfo:
    return ZoneInfo(calendar["time_zone"] if calendar else request.app.state.settings.display_time_zone)


@router.get("/sites/{site_id}/schedule", response_class=HTMLResponse)
async def schedule(
    site_id: SiteId,
    request: Request,
    session: SignedIn,
    start: Annotated[date | None, Query()] = None,
    done: str = "",
    problem: str = "",
) -> HTMLResponse:
    for_site(site_id, session)
    calls = services(request, session)
    zone = await _zone_of(request, site_id, session)
    first_day = start or datetime.now(zone).date()  # the site's today, not UTC's
    begin = datetime.combine(first_day, datetime.min.time(), zone)
    calendar = await calls.schedule(site_id, begin.isoformat(), (begin + timedelta(days=7)).isoformat())
    days = charts.calendar_days(calendar, begin, zone) if calendar else []
    t = translator(request)
    response = render(
        request,
        "schedule.html",
        site=site_id,
        section="schedule",
        calendar=calendar,
        days=days,
        zone=str(zone),
        first_day=first_day,
        previous_day=first_day - timedelta(days=7),
        next_day=first_day + timedelta(days=7),
        gaps=charts.local_segments(calendar["gaps"], zone) if calendar else [],
        overrides=charts.local_segments(calendar["overrides"], zone) if calendar else [],
        layers=[layer.value for layer in DutyLayer],
        notice=t(f"schedule.{done}.done")
        if done in ("override", "swap", "calendar", "calendar_stopped")
        else None,
        removed=done == "removed",
        problem=problem or None,
        address=shown_address(request, session, site_id),
        calendar_action=f"/sites/{site_id}/calendar",
    )
    response.delete_cookie(SHOWN, path="/")  # a calendar address is shown once
    return response


def _aware(local: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(local).replace(tzinfo=zone).isoformat()


async def _schedule_change(request: Request, site_id: str, change: Any, done: str) -> RedirectResponse:
    t = translator(request)
    try:
        await change
    except Refused as exc:
        if exc.status in (401, 403, 404) and "no schedule" not in exc.message:
            raise
        query = urlencode({"problem": said(t, exc.message)})
        return RedirectResponse(f"/sites/{site_id}/schedule?{query}", 303)
    return RedirectResponse(f"/sites/{site_id}/schedule?done={done}", 303)


async def _zone_of(request: Request, site_id: str, session: Session) -> ZoneInfo:
    found = await services(request, session).site_zone(site_id)
    return ZoneInfo(found or request.app.state.settings.display_time_zone)


async def _checked_form_zone(request: Request, site_id: str, session: Session, form_token: str) -> ZoneInfo:
    """A form of the site's coordinator, checked, and the site's zone its times are said in."""
    for_site(site_id, session)
    check_form(session, form_token)
    return await _zone_of(request, site_id, session)


def _bad_form(site_id: str, t: Translator, what: str) -> RedirectResponse:
    query = urlencode({"problem": t("form.error", message=what)})
    return RedirectResponse(f"/sites/{site_id}/schedule?{query}", 303)


@router.post("/sites/{site_id}/schedule/overrides")
async def add_override(
    site_id: SiteId,
    request: Request,
    session: SignedIn,
    form_token: Annotated[str, Form()],
    layer: Annotated[str, Form()],
    supporter: Annotated[str, Form()],
    starts: Annotated[str, Form()],
    ends: Annotated[str, Form()],
) -> RedirectResponse:
    zone = await _checked_form_zone(request, site_id, session, form_token)
    try:
        body = {
            "layer": DutyLayer(layer).value,
            "supporter": _STAFF_REF.validate_python(supporter.strip()),
            "starts_at": _aware(starts, zone),
            "ends_at": _aware(ends, zone),
        }
    except (ValueError, ValidationError):
        return _bad_form(site_id, translator(request), f"{layer}, {supporter!r}, {starts!r}, {ends!r}")
    return await _schedule_change(
        request, site_id, services(request, session).add_override(site_id, body), "override"
    )


@router.post("/sites/{site_id}/schedule/overrides/{override_id}/remove")
async def remove_override(
    site_id: SiteId,
    override_id: int,
    request: Request,
    session: SignedIn,
    form_token: Annotated[str, Form()],
) -> RedirectResponse:
    for_site(site_id, session)
    check_form(session, form_token)
    return await _schedule_change(
        request, site_id, services(request, session).remove_override(site_id, override_id), "removed"
    )


@router.post("/sites/{site_id}/schedule/swaps")
async def swap(
    site_id: SiteId,
    request: Request,
    session: SignedIn,
    form_token: Annotated[str, Form()],
    layer: Annotated[str, Form()],
    first: Annotated[str, Form()],
    second: Annotated[str, Form()],
) -> RedirectResponse:
    zone = await _checked_form_zone(request, site_id, session, form_token)
    try:
        body = {"layer": DutyLayer(layer).value, "first": _aware(first, zone), "second": _aware(second, zone)}
    except ValueError:
        return _bad_form(site_id, translator(request), f"{layer}, {first!r}, {second!r}")
    return await _schedule_change(request, site_id, services(request, session).swap(site_id, body), "swap")
