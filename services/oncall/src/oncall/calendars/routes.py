"""Calendar feeds (RFC 5545) of a site's schedule and of a supporter's own shifts, each at a
secret address its owner can replace or revoke; the feed itself needs no sign-in, since
calendar apps cannot sign in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from contracts.types import SiteId
from fastapi import APIRouter, Body, HTTPException, Path, Request, Response
from servicekit.api import refusals, unit_of_work
from servicekit.auth import OnCall, Principal, SiteCoordinator

from oncall import directory
from oncall.calendars import handlers as calendars
from oncall.calendars.schemas import CalendarAddress, CalendarFeedIn

router = APIRouter()

Token = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
NOT_FOUND = (
    "no calendar at this address: it was replaced or revoked by its owner, a site's calendar"
    " lapsed (its owner has not opened the site's schedule in 30 days), or it never existed"
)


def _address(request: Request, token: str) -> CalendarAddress:
    base = request.app.state.settings.public_base_url.rstrip("/")
    url = f"{base}/calendars/{token}.ics"
    return CalendarAddress(url=url, webcal="webcal://" + url.split("://", 1)[1])


def _me(principal: Principal) -> str:
    if principal.staff_ref is None:
        raise HTTPException(403, "your sign-in carries no staff reference")
    return principal.staff_ref


@router.post("/sites/{site_id}/calendar-feed", status_code=201, tags=["calendars"])
async def create_site_feed(
    site_id: SiteId,
    request: Request,
    principal: SiteCoordinator,
    body: Annotated[CalendarFeedIn | None, Body()] = None,
) -> CalendarAddress:
    """A secret address of the site's on-call calendar for me; my previous one stops working."""
    async with unit_of_work(request)() as uow:
        with refusals({directory.NotOfSite: 404}):
            await directory.require_site(uow, site_id)
        language = (body or CalendarFeedIn()).language
        token = await calendars.create(
            uow, principal.subject, calendars.SITE, site_id=site_id, language=language
        )
    return _address(request, token)


@router.delete("/sites/{site_id}/calendar-feed", status_code=204, tags=["calendars"])
async def revoke_site_feed(site_id: SiteId, request: Request, principal: SiteCoordinator) -> None:
    """My address of the site's calendar stops working (nothing to revoke is not an error)."""
    async with unit_of_work(request)() as uow:
        await calendars.revoke(uow, principal.subject, calendars.SITE, site_id)


@router.post("/me/calendar-feed", status_code=201, tags=["calendars", "me"])
async def create_my_feed(
    request: Request, principal: OnCall, body: Annotated[CalendarFeedIn | None, Body()] = None
) -> CalendarAddress:
    """A secret address of my own shifts, at every site whose schedule names me."""
    staff_ref = _me(principal)
    async with unit_of_work(request)() as uow:
        language = (body or CalendarFeedIn()).language
        token = await calendars.create(
            uow, principal.subject, calendars.MINE, staff_ref=staff_ref, language=language
        )
    return _address(request, token)


@router.delete("/me/calendar-feed", status_code=204, tags=["calendars", "me"])
async def revoke_my_feed(request: Request, principal: OnCall) -> None:
    async with unit_of_work(request)() as uow:
        await calendars.revoke(uow, principal.subject, calendars.MINE)


@router.get(
    "/calendars/{token}.ics",
    tags=["calendars"],
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, 404: {"description": NOT_FOUND}},
)
async def calendar_feed(token: Token, request: Request) -> Response:
    """The calendar itself, for calendar apps: no sign-in, the address is the secret."""
    async with unit_of_work(request)() as uow:
        now = datetime.now(UTC)
        feed = await calendars.find(uow, token, now)
        if feed is None:
            raise HTTPException(404, NOT_FOUND)
        text = await calendars.render(uow, feed, now)
    return Response(
        text,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "private, max-age=300",
            "Content-Disposition": "inline; filename=on-call.ics",
        },
    )
