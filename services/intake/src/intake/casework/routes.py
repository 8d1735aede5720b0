"""The case for the coordinators and the assigned supporters: the site's cases, one case
without personal data, its contact (audited), the encounters, closing and withdrawing, and
confidentiality exceptions."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from contracts.types import CaseOutcome, SiteId
from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from servicekit.api import unit_of_work
from servicekit.auth import OnCall, Principal, SiteCoordinator

from intake import common
from intake.casework import handlers as casework
from intake.casework.schemas import AccessRow, CaseSummary, ContactOut, ExceptionRow, Recorded
from intake.domain import (
    CaseStatus,
    Contact,
    LifecycleError,
)
from intake.web import CASE_WORKER, NOT_YOURS, Closing, Encounter, ExceptionIn, conflict
from intake.worker_view import handlers as worker_handlers

router = APIRouter()


async def _case_step(request: Request, call: Any) -> Any:
    async with unit_of_work(request)() as uow:
        try:
            return await call(uow)
        except common.NotFound:
            raise HTTPException(404, NOT_YOURS) from None
        except LifecycleError as exc:
            raise conflict(exc) from None


CaseWorker = Annotated[Principal, Depends(CASE_WORKER)]


@router.get("/referrals/{referral_id}", tags=["cases"])
async def get_referral(referral_id: uuid.UUID, request: Request, principal: CaseWorker) -> CaseSummary:
    """The case without personal data, for the site's coordinators and its supporters."""
    return await _case_step(request, lambda uow: casework.case_summary(uow, referral_id, principal))  # type: ignore[no-any-return]


@router.get("/referrals/{referral_id}/contact", tags=["cases"])
async def get_contact(
    referral_id: uuid.UUID,
    request: Request,
    principal: CaseWorker,
    purpose: Annotated[str, Query(min_length=3, max_length=80, pattern=r"^[a-z_ -]+$")] = "call_back",
) -> ContactOut:
    """The worker's contact, for the person who must reach them. Every read is audited."""
    contact: Contact = await _case_step(
        request,
        lambda uow: casework.read_contact(uow, referral_id, principal, purpose, request.app.state.vault),
    )
    return ContactOut(name=contact.name, phone=contact.phone, email=contact.email)


@router.get("/referrals/{referral_id}/access-log", tags=["cases"])
async def get_access_log(referral_id: uuid.UUID, request: Request, principal: CaseWorker) -> list[AccessRow]:
    """Who read this case's personal data, when and why."""
    return await _case_step(request, lambda uow: casework.access_log(uow, referral_id, principal))  # type: ignore[no-any-return]


@router.post("/referrals/{referral_id}/contacted", response_model=Recorded, tags=["cases"])
async def post_contacted(referral_id: uuid.UUID, request: Request, principal: CaseWorker) -> Recorded:
    """The supporter reached the worker (service level: within 30 minutes)."""
    minutes = await _case_step(request, lambda uow: casework.record_contacted(uow, referral_id, principal))
    return Recorded(status=CaseStatus.CONTACTED, minutes_to_callback=minutes)


@router.post("/referrals/{referral_id}/encounters", response_model=Recorded, tags=["cases"])
async def post_encounter(
    referral_id: uuid.UUID,
    request: Request,
    principal: CaseWorker,
    body: Annotated[Encounter | None, Body()] = None,
) -> Recorded:
    """A support encounter took place (service level: meet within 12 hours)."""
    minutes = body.duration_minutes if body else None
    encounter = await _case_step(
        request, lambda uow: casework.record_encounter(uow, referral_id, principal, duration_minutes=minutes)
    )
    return Recorded(status=CaseStatus.MET, encounter=encounter)


@router.post("/referrals/{referral_id}/close", response_model=Recorded, tags=["cases"])
async def post_close(
    referral_id: uuid.UUID, body: Closing, request: Request, principal: CaseWorker
) -> Recorded:
    """Close with the minimal structured record; identifiers are purged after the retention period."""
    await _case_step(
        request,
        lambda uow: casework.close_case(
            uow, referral_id, principal, contact_made=body.contact_made, outcome=body.outcome
        ),
    )
    return Recorded(status=CaseStatus.CLOSED)


@router.post("/referrals/{referral_id}/withdraw", response_model=Recorded, tags=["cases"])
async def post_withdraw(referral_id: uuid.UUID, request: Request, principal: CaseWorker) -> Recorded:
    """The worker told their supporter or coordinator they want to stop."""
    await _case_step(request, lambda uow: worker_handlers.withdraw_for_worker(uow, referral_id, principal))
    return Recorded(status=CaseStatus.WITHDRAWN)


@router.post("/referrals/{referral_id}/confidentiality-exceptions", status_code=201, tags=["cases"])
async def post_exception(
    referral_id: uuid.UUID, body: ExceptionIn, request: Request, principal: CaseWorker
) -> ExceptionRow:
    """Record a deliberate step outside confidentiality (002), with its reason."""
    return await _case_step(  # type: ignore[no-any-return]
        request,
        lambda uow: casework.record_exception(
            uow, referral_id, principal, body.reason, worker_informed=body.worker_informed
        ),
    )


@router.get("/referrals/{referral_id}/confidentiality-exceptions", tags=["cases"])
async def get_exceptions(
    referral_id: uuid.UUID, request: Request, principal: CaseWorker
) -> list[ExceptionRow]:
    """The confidentiality exceptions recorded on this case."""
    return await _case_step(request, lambda uow: casework.exceptions_of(uow, referral_id, principal))  # type: ignore[no-any-return]


@router.get("/sites/{site_id}/referrals", tags=["cases"])
async def get_site_cases(
    site_id: SiteId,
    request: Request,
    principal: SiteCoordinator,
    open_only: Annotated[bool, Query(alias="open")] = True,
) -> list[CaseSummary]:
    """The site's cases for its coordinators: categories and times, no personal data."""
    async with unit_of_work(request)() as uow:
        return await casework.site_cases(uow, site_id, open_only=open_only)


@router.get("/me/cases", tags=["cases"])
async def get_my_cases(request: Request, principal: OnCall) -> list[CaseSummary]:
    """The cases the signed-in supporter (or a coordinator who took their own page) took:
    open ones first, then those ended in the last 30 days. No personal data."""
    if not principal.staff_ref:
        raise HTTPException(403, "your sign-in carries no staff reference; ask the program's administrator")
    async with unit_of_work(request)() as uow:
        return await casework.supporter_cases(uow, principal.staff_ref)


@router.get("/sites/{site_id}/referrals/ended", tags=["cases"])
async def get_ended_cases(
    site_id: SiteId,
    request: Request,
    principal: SiteCoordinator,
    since: Annotated[date | None, Query(description="Ended on or after this day (UTC)")] = None,
    until: Annotated[date | None, Query(description="Ended before this day (UTC)")] = None,
    outcome: CaseOutcome | None = None,
    referral: Annotated[
        str | None, Query(pattern=r"^[0-9a-f-]{4,36}$", description="The start of a case's id")
    ] = None,
) -> list[CaseSummary]:
    """The site's ended cases, newest first (200 at most): the coordinators' history."""

    def moment(day: date | None) -> datetime | None:
        return datetime.combine(day, time.min, UTC) if day else None

    async with unit_of_work(request)() as uow:
        return await casework.ended_cases(
            uow,
            site_id,
            since=moment(since),
            until=moment(until),
            outcome=outcome.value if outcome else None,
            id_prefix=referral,
        )
