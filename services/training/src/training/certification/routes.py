"""The course catalogue, the supporters' records (registration, completions, imports,
continuing education) and a site's roster."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from contracts.types import CourseCode, Day, Moment, SiteId, StaffRef
from fastapi import APIRouter, Request
from pydantic import Field, model_validator
from servicekit.api import refusals, unit_of_work
from servicekit.auth import Admin, Coordinator, ProgramStaff, SiteCoordinator
from servicekit.imports import ImportBatch, ImportReport, Rejected, validate_rows
from servicekit.text import PRINTABLE_LINE

from training import common, roster, sites
from training.certification import handlers as certification
from training.certification.schemas import CompletionRecorded, Course, EducationRecorded, Standing
from training.supporter_care import handlers as supporter_care
from training.web import Activity, Strict, acts_for_home_of, may_read_supporter, not_ahead, policy_of

router = APIRouter()


class CourseIn(Strict):
    title: Annotated[str, PRINTABLE_LINE, Field(min_length=2, max_length=120)]
    validity_days: int | None = Field(default=730, ge=1, le=3650, description="None: never expires")
    required: bool = False


@router.get("/courses", tags=["catalogue"])
async def get_courses(request: Request, _p: ProgramStaff) -> list[Course]:
    """The catalogue: required courses first."""
    async with unit_of_work(request)() as uow:
        return await certification.courses(uow)


@router.put("/courses/{code}", status_code=204, tags=["catalogue"])
async def put_course(code: CourseCode, body: CourseIn, request: Request, _a: Admin) -> None:
    """Change a course of the default catalogue, or add the authority's own."""
    async with unit_of_work(request)() as uow:
        await certification.upsert_course(uow, code, body.title, body.validity_days, body.required)


class SupporterIn(Strict):
    home_site: SiteId
    active: bool = True
    tier: int = Field(default=2, ge=1, le=3)


class When(Strict):
    completed_on: Day | None = Field(default=None, description="The day: counts from midnight there")
    completed_at: Moment | None = Field(default=None, description="Or the moment, with its offset")

    @model_validator(mode="after")
    def _when(self) -> When:
        if (self.completed_on is None) == (self.completed_at is None):
            raise ValueError("give completed_on (a day) or completed_at (a moment), one of the two")
        not_ahead(self.completed_on or self.completed_at.astimezone(UTC).date(), "a completion")  # type: ignore[union-attr]
        return self

    def moment(self, policy: common.TrainingPolicy) -> datetime:
        return self.completed_at or policy.start_of(self.completed_on)  # type: ignore[arg-type]


class CompletionIn(When):
    course: CourseCode


class CompletionRow(CompletionIn):
    staff_ref: StaffRef


@router.put("/supporters/{staff_ref}", status_code=204, tags=["supporters"])
async def put_supporter(staff_ref: StaffRef, body: SupporterIn, request: Request, _a: Admin) -> None:
    """Register a supporter trained before the platform; new ones come through recruitment."""
    async with unit_of_work(request)() as uow:
        with refusals({sites.UnknownSite: 422, common.Conflict: 409}):
            await certification.upsert_supporter(uow, staff_ref, body.home_site, body.active, body.tier)


@router.get("/supporters/{staff_ref}", tags=["supporters"])
async def get_supporter(staff_ref: StaffRef, request: Request, principal: ProgramStaff) -> Standing:
    """One supporter's standing, for themself or their site's coordinators."""
    async with unit_of_work(request)() as uow:
        await may_read_supporter(uow, principal, staff_ref)
        (record,) = await roster.roster(uow, staff_ref=staff_ref)
    return record


@router.get("/sites/{site_id}/supporters", tags=["supporters"])
async def get_site_roster(site_id: SiteId, request: Request, principal: SiteCoordinator) -> list[Standing]:
    """The site's supporters: eligible or not and why, upcoming expiries, continuing
    education and debriefs of the last twelve months."""
    async with unit_of_work(request)() as uow:
        return await roster.roster(uow, site_id=site_id)


@router.post("/supporters/{staff_ref}/completions", status_code=201, tags=["supporters"])
async def post_completion(
    staff_ref: StaffRef, body: CompletionIn, request: Request, principal: Coordinator
) -> CompletionRecorded:
    """A course completed: renews the certification, and with it eligibility."""
    policy = policy_of(request)
    async with unit_of_work(request)() as uow:
        await acts_for_home_of(uow, principal, staff_ref)
        with refusals({common.UnknownRecord: 422}):
            recorded = await certification.record_completion(
                uow, staff_ref, body.course, body.moment(policy), policy
            )
    expires_at = recorded.expires_at
    return CompletionRecorded(
        staff_ref=staff_ref,
        course=body.course,
        expires_at=expires_at,
        expires_on=expires_at.astimezone(ZoneInfo(policy.time_zone)).date() if expires_at else None,
        already_recorded=not recorded.new,
    )


@router.post("/completions/import", tags=["supporters"])
async def import_completions(body: ImportBatch, request: Request, _a: Admin) -> ImportReport:
    """A batch of a CSV file of completions (``pss training import``): each row on its own;
    a row already recorded is counted, not recorded twice."""
    policy = policy_of(request)
    accepted, rejected = validate_rows(
        body.rows,
        CompletionRow,
        lambda r: f"{r.staff_ref}>{r.course}>{r.moment(policy).isoformat()}",
    )
    completions = [
        certification.Completion(line, r.staff_ref, r.course, r.moment(policy)) for line, r in accepted
    ]
    async with unit_of_work(request)() as uow:
        imported, again, refused = await certification.import_completions(uow, completions, policy)
    rejected += [Rejected(line=line, problem=problem) for line, problem in refused]
    return ImportReport(
        imported=imported, already_recorded=again, rejected=sorted(rejected, key=lambda r: r.line)
    )


class EducationIn(Strict):
    on: Day
    hours: float = Field(gt=0, le=40, multiple_of=0.25)
    activity: Activity = Field(description="A code, e.g. a course, 'conference' or 'reading'")

    @model_validator(mode="after")
    def _past(self) -> EducationIn:
        not_ahead(self.on, "continuing education")
        return self


@router.post("/supporters/{staff_ref}/education", status_code=201, tags=["supporting the supporters"])
async def post_education(
    staff_ref: StaffRef, body: EducationIn, request: Request, principal: ProgramStaff
) -> EducationRecorded:
    """Continuing-education hours, entered by the supporter or their coordinator."""
    async with unit_of_work(request)() as uow:
        await may_read_supporter(uow, principal, staff_ref)
        await supporter_care.record_education(
            uow, staff_ref, on=body.on, hours=body.hours, activity=body.activity, by=principal.subject
        )
        (record,) = await roster.roster(uow, staff_ref=staff_ref)
    return EducationRecorded(staff_ref=staff_ref, education_hours_12_months=record.education_hours_12_months)
