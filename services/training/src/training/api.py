"""training's HTTP API: the catalogue, supporters and their records, recruitment, and
supporting the supporters (debriefs, continuing education, debrief prompts)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from contracts.types import CourseCode, Day, Moment, SiteId, StaffRef
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from servicekit.auth import Principal, Role, ensure_site, requires
from servicekit.database import UnitOfWork, UnitOfWorkFactory
from servicekit.imports import ImportBatch, ImportReport, Rejected, validate_rows
from servicekit.text import PRINTABLE_LINE

from training import handlers
from training.recruitment import ReferenceKind, Stage, TransitionRefused

router = APIRouter()
Admin = Annotated[Principal, Depends(requires(Role.AUTHORITY_ADMIN))]
Coordinator = Annotated[Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))]
Anyone = Annotated[
    Principal, Depends(requires(Role.PEER_SUPPORTER, Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))
]
Supporter = Annotated[Principal, Depends(requires(Role.PEER_SUPPORTER))]
Activity = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]

# a record dated more than a day ahead is a typo (a day of slack for time zones)
_SLACK = timedelta(days=1)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _not_ahead(day: date, what: str) -> date:
    if day > (datetime.now(UTC) + _SLACK).date():
        raise ValueError(f"{what} cannot be in the future")
    return day


def _uow(request: Request) -> UnitOfWorkFactory:
    return request.app.state.uow  # type: ignore[no-any-return]


def _policy(request: Request) -> handlers.TrainingPolicy:
    return request.app.state.policy  # type: ignore[no-any-return]


async def _may_read_supporter(uow: UnitOfWork, principal: Principal, staff_ref: str) -> str:
    """A supporter's own record, their site's coordinators, the authority; 404 for anyone
    else, so a stranger cannot even learn that the person is a supporter."""
    home = await handlers.home_site_of(uow, staff_ref)
    if home is None or (
        principal.staff_ref != staff_ref and not principal.has(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN)
    ):
        raise HTTPException(404, NOT_YOURS)
    if principal.staff_ref != staff_ref:
        _in_sites(principal, home)
    return home


# one refusal for a person nobody has and for another site's: it tells nothing of them
NOT_YOURS = "no such supporter or candidate among the sites you act for"


def _in_sites(principal: Principal, site_id: str) -> None:
    if not principal.acts_for(site_id):
        raise HTTPException(404, NOT_YOURS)


async def _acts_for_home_of(uow: UnitOfWork, principal: Principal, staff_ref: str) -> str:
    home = await handlers.home_site_of(uow, staff_ref)
    if home is None:
        raise HTTPException(404, NOT_YOURS)
    _in_sites(principal, home)
    return home


# --- the catalogue ----------------------------------------------------------------------


class CourseIn(Strict):
    title: Annotated[str, PRINTABLE_LINE, Field(min_length=2, max_length=120)]
    validity_days: int | None = Field(default=730, ge=1, le=3650, description="None: never expires")
    required: bool = False


@router.get("/courses", tags=["catalogue"])
async def get_courses(request: Request, _p: Anyone) -> list[dict[str, Any]]:
    async with _uow(request)() as uow:
        return await handlers.courses(uow)


@router.put("/courses/{code}", status_code=204, tags=["catalogue"])
async def put_course(code: CourseCode, body: CourseIn, request: Request, _a: Admin) -> None:
    """Change a course of the default catalogue, or add the authority's own."""
    async with _uow(request)() as uow:
        await handlers.upsert_course(uow, code, body.title, body.validity_days, body.required)


# --- supporters and their records -------------------------------------------------------


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
        _not_ahead(self.completed_on or self.completed_at.astimezone(UTC).date(), "a completion")  # type: ignore[union-attr]
        return self

    def moment(self, policy: handlers.TrainingPolicy) -> datetime:
        return self.completed_at or policy.start_of(self.completed_on)  # type: ignore[arg-type]


class CompletionIn(When):
    course: CourseCode


class CompletionRow(CompletionIn):
    staff_ref: StaffRef


@router.put("/supporters/{staff_ref}", status_code=204, tags=["supporters"])
async def put_supporter(staff_ref: StaffRef, body: SupporterIn, request: Request, _a: Admin) -> None:
    """Register a supporter trained before the platform; new ones come through recruitment."""
    async with _uow(request)() as uow:
        try:
            await handlers.upsert_supporter(uow, staff_ref, body.home_site, body.active, body.tier)
        except handlers.UnknownSite as exc:
            raise HTTPException(422, str(exc)) from None
        except handlers.Conflict as exc:
            raise HTTPException(409, str(exc)) from None


@router.get("/supporters/{staff_ref}", tags=["supporters"])
async def get_supporter(staff_ref: StaffRef, request: Request, principal: Anyone) -> dict[str, Any]:
    async with _uow(request)() as uow:
        await _may_read_supporter(uow, principal, staff_ref)
        (record,) = await handlers.roster(uow, staff_ref=staff_ref)
    return record


@router.get("/sites/{site_id}/supporters", tags=["supporters"])
async def get_site_roster(site_id: SiteId, request: Request, principal: Coordinator) -> list[dict[str, Any]]:
    """The site's supporters: eligible or not and why, upcoming expiries, continuing
    education and debriefs of the last twelve months."""
    ensure_site(principal, site_id)
    async with _uow(request)() as uow:
        return await handlers.roster(uow, site_id=site_id)


@router.post("/supporters/{staff_ref}/completions", status_code=201, tags=["supporters"])
async def post_completion(
    staff_ref: StaffRef, body: CompletionIn, request: Request, principal: Coordinator
) -> dict[str, object]:
    policy = _policy(request)
    async with _uow(request)() as uow:
        await _acts_for_home_of(uow, principal, staff_ref)
        try:
            recorded = await handlers.record_completion(
                uow, staff_ref, body.course, body.moment(policy), policy
            )
        except handlers.UnknownRecord as exc:
            raise HTTPException(422, str(exc)) from None
    expires_at = recorded.expires_at
    return {
        "staff_ref": staff_ref,
        "course": body.course,
        "expires_at": expires_at,
        "expires_on": expires_at.astimezone(ZoneInfo(policy.time_zone)).date() if expires_at else None,
        "already_recorded": not recorded.new,
    }


@router.post("/completions/import", tags=["supporters"])
async def import_completions(body: ImportBatch, request: Request, _a: Admin) -> ImportReport:
    """A batch of a CSV file of completions (``pss training import``): each row on its own;
    a row already recorded is counted, not recorded twice."""
    policy = _policy(request)
    accepted, rejected = validate_rows(
        body.rows,
        CompletionRow,
        lambda r: f"{r.staff_ref}>{r.course}>{r.moment(policy).isoformat()}",
    )
    completions = [handlers.Completion(line, r.staff_ref, r.course, r.moment(policy)) for line, r in accepted]
    async with _uow(request)() as uow:
        imported, again, refused = await handlers.import_completions(uow, completions, policy)
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
        _not_ahead(self.on, "continuing education")
        return self


@router.post("/supporters/{staff_ref}/education", status_code=201, tags=["supporting the supporters"])
async def post_education(
    staff_ref: StaffRef, body: EducationIn, request: Request, principal: Anyone
) -> dict[str, Any]:
    """Continuing-education hours, entered by the supporter or their coordinator."""
    async with _uow(request)() as uow:
        await _may_read_supporter(uow, principal, staff_ref)
        await handlers.record_education(
            uow, staff_ref, on=body.on, hours=body.hours, activity=body.activity, by=principal.subject
        )
        (record,) = await handlers.roster(uow, staff_ref=staff_ref)
    return {"staff_ref": staff_ref, "education_hours_12_months": record["education_hours_12_months"]}


# --- recruitment ------------------------------------------------------------------------


class InterestIn(Strict):
    staff_ref: StaffRef
    home_site: SiteId


class StepIn(Strict):
    stage: Stage


class ReferenceIn(Strict):
    referee: StaffRef
    kind: ReferenceKind


@router.post("/candidates", status_code=201, tags=["recruitment"])
async def post_candidate(body: InterestIn, request: Request, principal: Coordinator) -> dict[str, Any]:
    """An expression of interest: the first step to becoming a peer supporter."""
    ensure_site(principal, body.home_site)
    async with _uow(request)() as uow:
        try:
            await handlers.express_interest(
                uow, body.staff_ref, body.home_site, principal.subject, principal.acts_for
            )
        except handlers.UnknownSite as exc:
            raise HTTPException(422, str(exc)) from None
        except handlers.Conflict as exc:
            raise HTTPException(409, str(exc)) from None
    async with _uow(request)() as uow:
        return await handlers.candidacy_view(uow, body.staff_ref)


@router.get("/candidates/{staff_ref}", tags=["recruitment"])
async def get_candidate(staff_ref: StaffRef, request: Request, principal: Coordinator) -> dict[str, Any]:
    async with _uow(request)() as uow:
        await _acts_for_home_of(uow, principal, staff_ref)
        try:
            return await handlers.candidacy_view(uow, staff_ref)
        except handlers.UnknownRecord as exc:
            raise HTTPException(404, str(exc)) from None


@router.post("/candidates/{staff_ref}/stage", tags=["recruitment"])
async def post_stage(
    staff_ref: StaffRef, body: StepIn, request: Request, principal: Coordinator
) -> dict[str, Any]:
    """The next step (or withdrawn, or declined). A step that cannot be taken now answers
    409 with what is needed first."""
    async with _uow(request)() as uow:
        await _acts_for_home_of(uow, principal, staff_ref)
        try:
            await handlers.advance_candidacy(uow, staff_ref, body.stage, principal.subject)
        except handlers.UnknownRecord as exc:
            raise HTTPException(404, str(exc)) from None
        except TransitionRefused as exc:
            raise HTTPException(409, str(exc)) from None
    async with _uow(request)() as uow:
        return await handlers.candidacy_view(uow, staff_ref)


@router.post("/candidates/{staff_ref}/references", tags=["recruitment"])
async def post_reference(
    staff_ref: StaffRef, body: ReferenceIn, request: Request, principal: Coordinator
) -> dict[str, Any]:
    """That a reference was received and from whom. Its content stays with the program,
    on paper: nothing a referee says about a colleague is stored here."""
    async with _uow(request)() as uow:
        await _acts_for_home_of(uow, principal, staff_ref)
        try:
            await handlers.add_reference(uow, staff_ref, body.referee, body.kind)
        except handlers.UnknownRecord as exc:
            raise HTTPException(404, str(exc)) from None
        except handlers.Conflict as exc:
            raise HTTPException(409, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
    async with _uow(request)() as uow:
        return await handlers.candidacy_view(uow, staff_ref)


# --- supporting the supporters ----------------------------------------------------------


class DebriefKind(StrEnum):
    MONTHLY = "monthly"  # the team's monthly debrief
    ENCOUNTER = "encounter"  # after an encounter, one or a few supporters


class DebriefIn(Strict):
    held_on: Day
    kind: DebriefKind = DebriefKind.MONTHLY
    minutes: int = Field(ge=10, le=480)
    attendees: list[StaffRef] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _past(self) -> DebriefIn:
        _not_ahead(self.held_on, "a debrief")
        return self


class PromptAnswer(StrEnum):
    DEBRIEFED = "debriefed"
    NOT_NEEDED = "not_needed"


class PromptAnswerIn(Strict):
    outcome: PromptAnswer


# a month of the years people may give (contracts.types), e.g. 2026-11
Month = Annotated[str, StringConstraints(pattern=r"^(19|2[01])\d{2}-(0[1-9]|1[0-2])$")]


@router.post("/sites/{site_id}/debriefs", status_code=201, tags=["supporting the supporters"])
async def post_debrief(
    site_id: SiteId, body: DebriefIn, request: Request, principal: Coordinator
) -> dict[str, Any]:
    """A debrief and who attended; nothing of what was said."""
    ensure_site(principal, site_id)
    async with _uow(request)() as uow:
        try:
            debrief_id = await handlers.record_debrief(
                uow,
                site_id=site_id,
                held_on=body.held_on,
                kind=body.kind.value,
                minutes=body.minutes,
                attendees=set(body.attendees),
                by=principal.subject,
            )
        except handlers.UnknownRecord as exc:
            raise HTTPException(422, str(exc)) from None
    return {"debrief_id": debrief_id, "attendees": len(set(body.attendees))}


@router.get("/sites/{site_id}/debriefs", tags=["supporting the supporters"])
async def get_debriefs(
    site_id: SiteId,
    request: Request,
    principal: Coordinator,
    month: Annotated[Month | None, Query(description="YYYY-MM; this month if not given")] = None,
) -> list[dict[str, Any]]:
    ensure_site(principal, site_id)
    start = date.fromisoformat(f"{month}-01") if month else datetime.now(UTC).date().replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    async with _uow(request)() as uow:
        return await handlers.debriefs_of(uow, site_id, start, end)


@router.get("/sites/{site_id}/debrief-prompts", tags=["supporting the supporters"])
async def get_site_prompts(site_id: SiteId, request: Request, principal: Coordinator) -> list[dict[str, Any]]:
    """Supporters of the site with a debrief offered and not yet answered."""
    ensure_site(principal, site_id)
    async with _uow(request)() as uow:
        return await handlers.debrief_prompts(uow, site_id=site_id)


def _own_ref(principal: Principal) -> str:
    if not principal.staff_ref:
        raise HTTPException(403, "your sign-in carries no staff reference; ask the authority to add it")
    return principal.staff_ref


@router.get("/me/debrief-prompts", tags=["supporting the supporters"])
async def get_my_prompts(request: Request, principal: Supporter) -> list[dict[str, Any]]:
    async with _uow(request)() as uow:
        return await handlers.debrief_prompts(uow, staff_ref=_own_ref(principal))


@router.post("/me/debrief-prompts/{prompt_id}", tags=["supporting the supporters"])
async def answer_my_prompt(
    prompt_id: uuid.UUID, body: PromptAnswerIn, request: Request, principal: Supporter
) -> dict[str, Any]:
    async with _uow(request)() as uow:
        try:
            await handlers.answer_debrief_prompt(uow, prompt_id, _own_ref(principal), body.outcome.value)
        except handlers.UnknownRecord as exc:
            raise HTTPException(404, str(exc)) from None
        except handlers.Conflict as exc:
            raise HTTPException(409, str(exc)) from None
    return {"prompt_id": prompt_id, "outcome": body.outcome}
