"""oncall's HTTP API: supporters answer pages (signed in, or from the link in a message)
and set their own availability and contact routes; coordinators keep the schedule (rotations,
overrides, swaps), see coverage gaps and follow pages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from html import escape
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts.types import DutyLayer, LocalMoment, Moment, SiteId, StaffRef
from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Body, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from servicekit.auth import Principal, Role, ensure_site, requires
from servicekit.database import UnitOfWorkFactory

from oncall import directory, handlers, rostering
from oncall.links import LinkRefused

router = APIRouter()
Answerer = Annotated[
    Principal, Depends(requires(Role.PEER_SUPPORTER, Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))
]


class DutyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    primary: StaffRef | None = None
    backup: StaffRef | None = None
    coordinator: StaffRef | None = None


def _uow(request: Request) -> UnitOfWorkFactory:
    return request.app.state.uow  # type: ignore[no-any-return]


async def _answer(request: Request, page_id: uuid.UUID, principal: Principal, accept: bool) -> dict[str, str]:
    async with _uow(request)() as uow:
        try:
            if accept:
                await handlers.acknowledge(uow, page_id, principal)
            else:
                await handlers.decline(uow, page_id, principal, request.app.state.policy)
        except handlers.PageNotFound:
            raise HTTPException(404, "no such page for you") from None
        except handlers.PageClosed as exc:
            raise HTTPException(409, str(exc)) from None
    return {"status": "acknowledged" if accept else "declined"}


@router.post("/pages/{page_id}/acknowledge", tags=["pages"])
async def acknowledge(page_id: uuid.UUID, request: Request, principal: Answerer) -> dict[str, str]:
    """Take the case. Cancels every other pending page and timer of this referral."""
    return await _answer(request, page_id, principal, accept=True)


@router.post("/pages/{page_id}/decline", tags=["pages"])
async def decline(page_id: uuid.UUID, request: Request, principal: Answerer) -> dict[str, str]:
    """Cannot take it now: the next person in the chain is paged at once."""
    return await _answer(request, page_id, principal, accept=False)


@router.put("/sites/{site_id}/duty", status_code=204, tags=["duty"])
async def put_duty(
    site_id: SiteId,
    body: DutyIn,
    request: Request,
    principal: Annotated[Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))],
) -> None:
    ensure_site(principal, site_id)
    async with _uow(request)() as uow:
        try:
            await directory.require_site(uow, site_id)
            await directory.require_supporters(uow, site_id, [body.primary, body.backup])
            await directory.require_people(uow, site_id, [body.coordinator])
        except directory.NotOfSite as exc:
            raise HTTPException(422, str(exc)) from None
        await handlers.set_duty(uow, site_id, body.model_dump(exclude_unset=True))


@router.get("/referrals/{referral_id}/pages", tags=["pages"])
async def referral_pages(
    referral_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))],
) -> list[dict[str, object]]:
    async with _uow(request)() as uow:
        site_id, pages = await handlers.pages_of(uow, referral_id)
    if site_id is None:
        raise HTTPException(404, "no pages for this referral")
    ensure_site(principal, site_id)
    return pages


@router.get("/sites/{site_id}/episodes", tags=["pages"])
async def site_episodes(
    site_id: SiteId,
    request: Request,
    principal: Annotated[Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))],
) -> list[dict[str, object]]:
    """The site's cases that still need something of oncall: who is being paged, whether
    paging escalated or found nobody to propose, and the two service-level clocks (due
    time and state: running, kept, missed or stopped). Ids and categories only."""
    ensure_site(principal, site_id)
    async with _uow(request)() as uow:
        return await handlers.site_episodes(uow, site_id, datetime.now(UTC))


# --- schedules -------------------------------------------------------------------------

Coordinator = Annotated[Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))]
Supporter = Annotated[Principal, Depends(requires(Role.PEER_SUPPORTER, Role.SITE_COORDINATOR))]
EVERY = {"daily": 24, "weekly": 168}


class RestrictionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts: time = Field(description="Local time the covered part of each day begins, e.g. 20:00")
    ends: time = Field(description="Local time it ends; before `starts` wraps past midnight (nights)")


class RotationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layer: DutyLayer
    members: list[StaffRef] = Field(min_length=1, max_length=100)
    starts_local: LocalMoment = Field(description="First handover, local wall-clock time, no offset")
    every: Literal["daily", "weekly", "custom"] = "weekly"
    shift_hours: int | None = Field(default=None, ge=1, le=24 * 28, description="Only with every=custom")
    restriction: RestrictionIn | None = None

    @model_validator(mode="after")
    def _shape(self) -> RotationBody:
        if (self.every == "custom") != (self.shift_hours is not None):
            raise ValueError("give shift_hours with every=custom, and only then")
        return self


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time_zone: str = Field(max_length=64, description="IANA time zone of the site, e.g. America/Toronto")
    rotations: list[RotationBody] = Field(max_length=20)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                "not an IANA time zone (for example America/Toronto or America/Halifax)"
            ) from None
        return value


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layer: DutyLayer
    supporter: StaffRef
    starts_at: Moment
    ends_at: Moment

    @model_validator(mode="after")
    def _order(self) -> OverrideIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.ends_at - self.starts_at > timedelta(days=92):
            raise ValueError("an override lasts at most 92 days; change the rotation instead")
        return self


class SwapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layer: DutyLayer
    first: Moment = Field(description="Any instant in the first supporter's shift")
    second: Moment = Field(description="Any instant in the second supporter's shift")


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


@router.put("/sites/{site_id}/schedule", status_code=204, tags=["schedules"])
async def put_schedule(site_id: SiteId, body: ScheduleIn, request: Request, principal: Coordinator) -> None:
    """The site's rotations per layer, tried in order (the first that covers an instant
    wins). Overrides and swaps already made stay."""
    ensure_site(principal, site_id)
    rotations = [
        rostering.RotationIn(
            layer=r.layer,
            members=list(r.members),
            starts_local=r.starts_local,
            shift_hours=r.shift_hours or EVERY[r.every],
            restrict_from=r.restriction.starts if r.restriction else None,
            restrict_to=r.restriction.ends if r.restriction else None,
        )
        for r in body.rotations
    ]
    async with _uow(request)() as uow:
        try:
            await rostering.put_schedule(uow, site_id, body.time_zone, rotations)
        except directory.NotOfSite as exc:
            raise HTTPException(422, str(exc)) from None


@router.get("/sites/{site_id}/schedule", tags=["schedules"])
async def get_schedule(
    site_id: SiteId,
    request: Request,
    principal: Coordinator,
    start: Annotated[Moment | None, Query(alias="from")] = None,
    end: Annotated[Moment | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """Who holds each layer from `from` to `to` (default: the next 7 days), with gaps and
    the overrides in force."""
    ensure_site(principal, site_id)
    start = _utc(start) if start else datetime.now(UTC)
    end = _utc(end) if end else start + timedelta(days=7)
    if not timedelta(0) < end - start <= timedelta(days=35):
        raise HTTPException(422, "`to` must be after `from`, and at most 35 days later")
    async with _uow(request)() as uow:
        try:
            return await rostering.calendar(uow, site_id, start, end)
        except rostering.ScheduleNotFound:
            raise HTTPException(404, "this site has no schedule yet; PUT one first") from None


@router.get("/sites/{site_id}/coverage", tags=["schedules"])
async def coverage(site_id: SiteId, request: Request, principal: Coordinator) -> dict[str, Any]:
    """Gaps (no primary or no backup) in the next four weeks."""
    ensure_site(principal, site_id)
    now = datetime.now(UTC)
    async with _uow(request)() as uow:
        try:
            found = await rostering.calendar(uow, site_id, now, now + rostering.FORECAST)
        except rostering.ScheduleNotFound:
            raise HTTPException(404, "this site has no schedule yet; PUT one first") from None
    return {"site_id": site_id, "from": now, "to": found["to"], "gaps": found["gaps"]}


@router.post("/sites/{site_id}/overrides", status_code=201, tags=["schedules"])
async def post_override(
    site_id: SiteId, body: OverrideIn, request: Request, principal: Coordinator
) -> dict[str, int]:
    """This supporter holds the layer from `starts_at` to `ends_at`, over any rotation and
    any earlier override."""
    ensure_site(principal, site_id)
    async with _uow(request)() as uow:
        try:
            override_id = await rostering.add_override(
                uow, site_id, body.layer, body.supporter, _utc(body.starts_at), _utc(body.ends_at), principal
            )
        except rostering.ScheduleNotFound:
            raise HTTPException(404, "this site has no schedule yet; PUT one first") from None
        except directory.NotOfSite as exc:
            raise HTTPException(422, str(exc)) from None
    return {"override_id": override_id}


@router.delete("/sites/{site_id}/overrides/{override_id}", status_code=204, tags=["schedules"])
async def delete_override(
    site_id: SiteId,
    override_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    request: Request,
    principal: Coordinator,
) -> None:
    ensure_site(principal, site_id)
    async with _uow(request)() as uow:
        if not await rostering.remove_override(uow, site_id, override_id):
            raise HTTPException(404, "no such override at this site (or it was already removed)")


@router.post("/sites/{site_id}/swaps", status_code=201, tags=["schedules"])
async def post_swap(
    site_id: SiteId, body: SwapIn, request: Request, principal: Coordinator
) -> dict[str, Any]:
    """The supporters holding the shifts at `first` and at `second` trade them."""
    ensure_site(principal, site_id)
    async with _uow(request)() as uow:
        try:
            return await rostering.add_swap(
                uow, site_id, body.layer, _utc(body.first), _utc(body.second), principal
            )
        except rostering.ScheduleNotFound:
            raise HTTPException(404, "this site has no schedule yet; PUT one first") from None
        except rostering.ScheduleRefused as exc:
            raise HTTPException(409, str(exc)) from None


class ServiceLevelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_within_minutes: float = Field(gt=0, le=24 * 60, description="RISE: 30")
    meet_within_minutes: float = Field(gt=0, le=14 * 24 * 60, description="RISE: 720 (12 hours)")


@router.put("/sites/{site_id}/service-levels", status_code=204, tags=["service levels"])
async def put_service_levels(
    site_id: SiteId,
    body: ServiceLevelsIn,
    request: Request,
    _admin: Annotated[Principal, Depends(requires(Role.AUTHORITY_ADMIN))],
) -> None:
    """The site's two clocks, for cases that start from now on."""
    if body.meet_within_minutes < body.callback_within_minutes:
        raise HTTPException(422, "meet_within_minutes cannot be shorter than callback_within_minutes")
    async with _uow(request)() as uow:
        await handlers.set_service_levels(
            uow,
            site_id,
            timedelta(minutes=body.callback_within_minutes),
            timedelta(minutes=body.meet_within_minutes),
        )


# --- supporters' own settings ----------------------------------------------------------


class AvailabilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    available: bool = Field(description="false: step away (no new cases); true: come back")


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["email", "webhook"]
    address: str = Field(min_length=3, max_length=500)

    @model_validator(mode="after")
    def _address(self) -> RouteIn:
        if self.channel == "email":
            try:
                validate_email(self.address, check_deliverability=False)
            except EmailNotValidError:
                raise ValueError("address: not an e-mail address") from None
        elif not self.address.startswith(("https://", "http://")):
            raise ValueError("address: a webhook is an http(s) URL")
        return self


def _me(principal: Principal) -> str:
    if principal.staff_ref is None:
        raise HTTPException(403, "your sign-in carries no staff reference")
    return principal.staff_ref


@router.put("/me/availability", tags=["me"])
async def put_availability(body: AvailabilityIn, request: Request, principal: Supporter) -> dict[str, Any]:
    """Step away from supporting for now, or come back, at any time: no reason is asked."""
    async with _uow(request)() as uow:
        version = await rostering.set_availability(uow, _me(principal), body.available)
    return {"available": body.available, "version": version}


def _vault(request: Request) -> Any:
    vault = request.app.state.vault
    if vault is None:
        raise HTTPException(503, "contact routes cannot be stored: PERSONAL_DATA_KEYS is not configured")
    return vault


def _allowed(request: Request, routes: list[RouteIn]) -> None:
    """A webhook goes only where the authority allows (no server-side request forgery)."""
    allowed = request.app.state.webhooks
    refused = [i for i, r in enumerate(routes) if r.channel == "webhook" and not allowed.allows(r.address)]
    if refused:
        raise HTTPException(
            422,
            f"route {', '.join(str(i + 1) for i in refused)}: this webhook address is not one the "
            "authority allows (WEBHOOK_ALLOWED); ask the authority to add its gateway, or use e-mail",
        )


@router.put("/me/contact-routes", status_code=204, tags=["me"])
async def put_my_routes(
    body: Annotated[list[RouteIn], Body(min_length=1, max_length=5)], request: Request, principal: Supporter
) -> None:
    """How pages reach me, in order: each is retried, then the next is tried."""
    vault = _vault(request)
    _allowed(request, body)
    async with _uow(request)() as uow:
        await rostering.put_routes(uow, vault, _me(principal), [(r.channel, r.address) for r in body])


@router.get("/me/contact-routes", tags=["me"])
async def get_my_routes(request: Request, principal: Supporter) -> list[dict[str, str]]:
    vault = _vault(request)
    async with _uow(request)() as uow:
        found = await rostering.routes(uow, vault, _me(principal))
    return [{"channel": channel, "address": address} for channel, address in found]


@router.put("/people/{staff_ref}/contact-routes", status_code=204, tags=["me"])
async def put_routes(
    staff_ref: StaffRef,
    body: Annotated[list[RouteIn], Body(min_length=1, max_length=5)],
    request: Request,
    _admin: Annotated[Principal, Depends(requires(Role.AUTHORITY_ADMIN))],
) -> None:
    """The authority sets someone's routes (e.g. from its paging directory at onboarding)."""
    vault = _vault(request)
    _allowed(request, body)
    async with _uow(request)() as uow:
        await rostering.put_routes(uow, vault, staff_ref, [(r.channel, r.address) for r in body])


# --- answering from a message ------------------------------------------------------------

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Peer support page</title>
<style>body{{font:1.1rem system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#111}}
button{{font-size:1.1rem;padding:.7rem 1.2rem;margin:.3rem}}</style></head><body>{content}</body></html>"""


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(content=content), status_code=status)


@router.get("/answer", response_class=HTMLResponse, tags=["pages"])
async def answer_form(request: Request, t: str = "", a: str = "acknowledge") -> HTMLResponse:
    """Opening a link only shows a button: mail scanners open links too, and must not
    answer a page for anyone."""
    try:
        request.app.state.signer.verify(t)
    except LinkRefused as exc:
        return _html(f"<p>{escape(str(exc))}</p>", 400)
    take = a != "decline"
    label = "Take this case" if take else "I cannot take it"
    return _html(
        f"<h1>Peer support request</h1><form method='post' action='answer'>"
        f"<input type='hidden' name='t' value='{escape(t)}'>"
        f"<input type='hidden' name='a' value='{'acknowledge' if take else 'decline'}'>"
        f"<button type='submit'>{label}</button></form>"
    )


@router.post("/answer", response_class=HTMLResponse, tags=["pages"])
async def answer(request: Request, t: Annotated[str, Form()], a: Annotated[str, Form()]) -> HTMLResponse:
    """Answer the page the link names, as the person it was sent to; once."""
    if a not in ("acknowledge", "decline"):
        return _html("<p>Choose to take the case or to decline it.</p>", 422)
    try:
        link = request.app.state.signer.verify(t)
    except LinkRefused as exc:
        return _html(f"<p>{escape(str(exc))}</p>", 400)
    async with _uow(request)() as uow:
        try:
            await handlers.answer_by_link(uow, link, a == "acknowledge", request.app.state.policy)
        except handlers.LinkUsed as exc:
            return _html(f"<p>{escape(str(exc))}</p>", 409)
        except handlers.PageNotFound:
            return _html("<p>This page no longer exists.</p>", 404)
        except handlers.PageClosed as exc:
            return _html(f"<p>{escape(str(exc))}. Thank you all the same.</p>", 409)
    if a == "acknowledge":
        return _html("<p>Thank you: the case is yours. Sign in to see how to reach the person.</p>")
    return _html("<p>Thank you: the next person is being paged now.</p>")
