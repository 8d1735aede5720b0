"""training's HTTP API: the catalogue, supporters and their completions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from contracts.types import CourseCode, SiteId, StaffRef
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from servicekit.auth import Principal, Role, requires
from servicekit.database import UnitOfWorkFactory
from servicekit.text import PRINTABLE_LINE

from training import handlers

router = APIRouter()
Admin = Annotated[Principal, Depends(requires(Role.AUTHORITY_ADMIN))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CourseIn(Strict):
    title: Annotated[str, PRINTABLE_LINE, Field(min_length=2, max_length=120)]
    validity_days: int | None = Field(default=730, ge=1, description="None: never expires")
    required: bool = False


class SupporterIn(Strict):
    home_site: SiteId
    active: bool = True
    tier: int = Field(default=2, ge=1, le=3)


class CompletionIn(Strict):
    course: CourseCode
    completed_on: date | None = Field(default=None, description="The day: counts from midnight there")
    completed_at: AwareDatetime | None = Field(default=None, description="Or the moment, with its offset")

    @model_validator(mode="after")
    def _when(self) -> CompletionIn:
        if (self.completed_on is None) == (self.completed_at is None):
            raise ValueError("give completed_on (a day) or completed_at (a moment), one of the two")
        return self


def _uow(request: Request) -> UnitOfWorkFactory:
    return request.app.state.uow  # type: ignore[no-any-return]


@router.put("/courses/{code}", status_code=204, tags=["catalogue"])
async def put_course(code: CourseCode, body: CourseIn, request: Request, _a: Admin) -> None:
    async with _uow(request)() as uow:
        await handlers.upsert_course(uow, code, body.title, body.validity_days, body.required)


@router.put("/supporters/{staff_ref}", status_code=204, tags=["supporters"])
async def put_supporter(staff_ref: StaffRef, body: SupporterIn, request: Request, _a: Admin) -> None:
    async with _uow(request)() as uow:
        await handlers.upsert_supporter(uow, staff_ref, body.home_site, body.active, body.tier)


@router.post("/supporters/{staff_ref}/completions", status_code=201, tags=["supporters"])
async def post_completion(
    staff_ref: StaffRef, body: CompletionIn, request: Request, _a: Admin
) -> dict[str, object]:
    policy: handlers.TrainingPolicy = request.app.state.policy
    completed_at = body.completed_at or policy.start_of(body.completed_on)  # type: ignore[arg-type]
    if completed_at > datetime.now(UTC) + timedelta(days=1):
        raise HTTPException(422, "a completion cannot be in the future")
    async with _uow(request)() as uow:
        try:
            expires_at = await handlers.record_completion(uow, staff_ref, body.course, completed_at, policy)
        except handlers.UnknownRecord as exc:
            raise HTTPException(422, {"message": str(exc)}) from None
    return {
        "staff_ref": staff_ref,
        "course": body.course,
        "expires_at": expires_at,
        "expires_on": expires_at.astimezone(ZoneInfo(policy.time_zone)).date() if expires_at else None,
    }
