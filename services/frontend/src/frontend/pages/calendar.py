"""A calendar of on-call shifts in the coordinator's or the supporter's own calendar app: a
secret address, shown once after it is made (oncall keeps only a digest of it), replaced by
asking again, stopped with one button. Both forms redirect; the address rides in a sealed
cookie for one minute, so a reload neither makes another nor shows it to the next reader."""

from __future__ import annotations

from typing import Annotated, Any

from contracts.types import SiteId
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from frontend.session import Session
from frontend.web import SignedIn, check_form, for_site, hand_over_once, services, translator

router = APIRouter()

SHOWN = "pss_calendar"
SHOWN_SECONDS = 60


def shown_address(request: Request, session: Session, scope: str) -> dict[str, Any] | None:
    """The address just made for this reader and this calendar, if any."""
    sealed = request.app.state.sealer.open(request.cookies.get(SHOWN), max_age=SHOWN_SECONDS)
    if sealed and sealed.get("subject") == session.subject and sealed.get("scope") == scope:
        return sealed.get("address")  # type: ignore[no-any-return]
    return None


def _back(
    request: Request, target: str, scope: str, session: Session, address: dict[str, str]
) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    hand_over_once(
        request,
        response,
        SHOWN,
        {"subject": session.subject, "scope": scope, "address": address},
        SHOWN_SECONDS,
    )
    return response


@router.post("/me/calendar")
async def my_calendar(
    request: Request, session: SignedIn, form_token: Annotated[str, Form()]
) -> RedirectResponse:
    check_form(session, form_token)
    address = await services(request, session).create_calendar(None, translator(request).language)
    return _back(request, "/me/settings?done=calendar#calendar", "mine", session, address)


@router.post("/me/calendar/stop")
async def stop_my_calendar(
    request: Request, session: SignedIn, form_token: Annotated[str, Form()]
) -> RedirectResponse:
    check_form(session, form_token)
    await services(request, session).revoke_calendar(None)
    return RedirectResponse("/me/settings?done=calendar_stopped#calendar", status_code=303)


@router.post("/sites/{site_id}/calendar")
async def site_calendar(
    site_id: SiteId, request: Request, session: SignedIn, form_token: Annotated[str, Form()]
) -> RedirectResponse:
    for_site(site_id, session)
    check_form(session, form_token)
    address = await services(request, session).create_calendar(site_id, translator(request).language)
    return _back(request, f"/sites/{site_id}/schedule?done=calendar#calendar", site_id, session, address)


@router.post("/sites/{site_id}/calendar/stop")
async def stop_site_calendar(
    site_id: SiteId, request: Request, session: SignedIn, form_token: Annotated[str, Form()]
) -> RedirectResponse:
    for_site(site_id, session)
    check_form(session, form_token)
    await services(request, session).revoke_calendar(site_id)
    return RedirectResponse(f"/sites/{site_id}/schedule?done=calendar_stopped#calendar", status_code=303)
