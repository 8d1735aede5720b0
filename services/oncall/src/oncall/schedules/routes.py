"""Duty now, and the schedule ahead: rotations in the site's time zone, overrides, swaps,
coverage."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts.types import DutyLayer, LocalMoment, Moment, SiteId, StaffRef
from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from servicekit.api import refusals, unit_of_work
from servicekit.auth import SiteCoordinator

from oncall import directory, duty
from oncall.calendars import handlers as calendars
from oncall.schedules import handlers as schedules
from oncall.schedules.schemas import Calendar, Coverage, OverrideCreated, Swapped

router = APIRouter()


class DutyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    primary: StaffRef | None = None
    backup: StaffRef | None = None
    coordinator: StaffRef | None = None


@router.put("/sites/{site_id}/duty", status_code=204, tags=["duty"])
async def put_duty(
    site_id: SiteId,
    body: DutyIn,
    request: Request,
    principal: SiteCoordinator,
) -> None:
    async with unit_of_work(request)() as uow:
        with refusals({directory.NotOfSite: 422}):
            await directory.require_site(uow, site_id)
            await directory.require_supporters(uow, site_id, [body.primary, body.backup])
            await directory.require_people(uow, site_id, [body.coordinator])
        await duty.set_duty(uow, site_id, body.model_dump(exclude_unset=True))


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
async def put_schedule(
    site_id: SiteId, body: ScheduleIn, request: Request, principal: SiteCoordinator
) -> None:
    """The site's rotations per layer, tried in order (the first that covers an instant
    wins). Overrides and swaps already made stay."""
    rotations = [
        schedules.RotationIn(
            layer=r.layer,
            members=list(r.members),
            starts_local=r.starts_local,
            shift_hours=r.shift_hours or EVERY[r.every],
            restrict_from=r.restriction.starts if r.restriction else None,
            restrict_to=r.restriction.ends if r.restriction else None,
        )
        for r in body.rotations
    ]
    async with unit_of_work(request)() as uow:
        with refusals({directory.NotOfSite: 422}):
            await schedules.put_schedule(uow, site_id, body.time_zone, rotations)


@router.get("/sites/{site_id}/schedule", tags=["schedules"])
async def get_schedule(
    site_id: SiteId,
    request: Request,
    principal: SiteCoordinator,
    start: Annotated[Moment | None, Query(alias="from")] = None,
    end: Annotated[Moment | None, Query(alias="to")] = None,
) -> Calendar:
    """Who holds each layer from `from` to `to` (default: the next 7 days), with gaps and
    the overrides in force."""
    start = _utc(start) if start else datetime.now(UTC)
    end = _utc(end) if end else start + timedelta(days=7)
    if not timedelta(0) < end - start <= timedelta(days=35):
        raise HTTPException(422, "`to` must be after `from`, and at most 35 days later")
    async with unit_of_work(request)() as uow:
        try:
            found = await schedules.calendar(uow, site_id, start, end)
        except schedules.ScheduleNotFound:
            raise HTTPException(404, "this site has no schedule yet; PUT one first") from None
        # the coordinator still is one: their address of this site's calendar keeps working
        await calendars.confirm(uow, principal.subject, site_id, datetime.now(UTC))
    return found


@router.get("/sites/{site_id}/coverage", tags=["schedules"])
async def coverage(site_id: SiteId, request: Request, principal: SiteCoordinator) -> Coverage:
    """Gaps (no primary or no backup) in the next four weeks."""
    now = datetime.now(UTC)
    async with unit_of_work(request)() as uow:
        try:
            found = await schedules.calendar(uow, site_id, now, now + schedules.FORECAST)
        except schedules.ScheduleNotFound:
            raise HTTPException(404, "this site has no schedule yet; PUT one first") from None
    return Coverage(site_id=site_id, start=now, end=found.end, gaps=found.gaps)


@router.post("/sites/{site_id}/overrides", status_code=201, tags=["schedules"])
async def post_override(
    site_id: SiteId, body: OverrideIn, request: Request, principal: SiteCoordinator
) -> OverrideCreated:
    """This supporter holds the layer from `starts_at` to `ends_at`, over any rotation and
    any earlier override."""
    async with unit_of_work(request)() as uow:
        try:
            override_id = await schedules.add_override(
                uow, site_id, body.layer, body.supporter, _utc(body.starts_at), _utc(body.ends_at), principal
            )
        except schedules.ScheduleNotFound:
            raise HTTPException(404, "this site has no schedule yet; PUT one first") from None
        except directory.NotOfSite as exc:
            raise HTTPException(422, str(exc)) from None
    return OverrideCreated(override_id=override_id)


@router.delete("/sites/{site_id}/overrides/{override_id}", status_code=204, tags=["schedules"])
async def delete_override(
    site_id: SiteId,
    override_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    request: Request,
    principal: SiteCoordinator,
) -> None:
    async with unit_of_work(request)() as uow:
        if not await schedules.remove_override(uow, site_id, override_id):
            raise HTTPException(404, "no such override at this site (or it was already removed)")


@router.post("/sites/{site_id}/swaps", status_code=201, tags=["schedules"])
async def post_swap(site_id: SiteId, body: SwapIn, request: Request, principal: SiteCoordinator) -> Swapped:
    """The supporters holding the shifts at `first` and at `second` trade them."""
    async with unit_of_work(request)() as uow:
        try:
            return await schedules.add_swap(
                uow, site_id, body.layer, _utc(body.first), _utc(body.second), principal
            )
        except schedules.ScheduleNotFound:
            raise HTTPException(404, "this site has no schedule yet; PUT one first") from None
        except schedules.ScheduleRefused as exc:
            raise HTTPException(409, str(exc)) from None
