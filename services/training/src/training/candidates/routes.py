"""Recruitment, step by step: an expression of interest, the stages, the references."""

from __future__ import annotations

from contracts.types import SiteId, StaffRef
from fastapi import APIRouter, Request
from servicekit.api import refusals, unit_of_work
from servicekit.auth import Coordinator, ensure_site

from training import common, sites
from training.candidates import handlers as candidates
from training.candidates.schemas import CandidacyView
from training.recruitment import ReferenceKind, Stage, TransitionRefused
from training.web import Strict, acts_for_home_of

router = APIRouter()


class InterestIn(Strict):
    staff_ref: StaffRef
    home_site: SiteId


class StepIn(Strict):
    stage: Stage


class ReferenceIn(Strict):
    referee: StaffRef
    kind: ReferenceKind


@router.post("/candidates", status_code=201, tags=["recruitment"])
async def post_candidate(body: InterestIn, request: Request, principal: Coordinator) -> CandidacyView:
    """An expression of interest: the first step to becoming a peer supporter."""
    ensure_site(principal, body.home_site)
    async with unit_of_work(request)() as uow:
        with refusals({sites.UnknownSite: 422, common.Conflict: 409}):
            await candidates.express_interest(
                uow, body.staff_ref, body.home_site, principal.subject, principal.acts_for
            )
    async with unit_of_work(request)() as uow:
        return await candidates.candidacy_view(uow, body.staff_ref)


@router.get("/candidates/{staff_ref}", tags=["recruitment"])
async def get_candidate(staff_ref: StaffRef, request: Request, principal: Coordinator) -> CandidacyView:
    async with unit_of_work(request)() as uow:
        await acts_for_home_of(uow, principal, staff_ref)
        with refusals({common.UnknownRecord: 404}):
            return await candidates.candidacy_view(uow, staff_ref)


@router.post("/candidates/{staff_ref}/stage", tags=["recruitment"])
async def post_stage(
    staff_ref: StaffRef, body: StepIn, request: Request, principal: Coordinator
) -> CandidacyView:
    """The next step (or withdrawn, or declined). A step that cannot be taken now answers
    409 with what is needed first."""
    async with unit_of_work(request)() as uow:
        await acts_for_home_of(uow, principal, staff_ref)
        with refusals({common.UnknownRecord: 404, TransitionRefused: 409}):
            await candidates.advance_candidacy(uow, staff_ref, body.stage, principal.subject)
    async with unit_of_work(request)() as uow:
        return await candidates.candidacy_view(uow, staff_ref)


@router.post("/candidates/{staff_ref}/references", tags=["recruitment"])
async def post_reference(
    staff_ref: StaffRef, body: ReferenceIn, request: Request, principal: Coordinator
) -> CandidacyView:
    """That a reference was received and from whom. Its content stays with the program,
    on paper: nothing a referee says about a colleague is stored here."""
    async with unit_of_work(request)() as uow:
        await acts_for_home_of(uow, principal, staff_ref)
        with refusals({common.UnknownRecord: 404, common.Conflict: 409, ValueError: 422}):
            await candidates.add_reference(uow, staff_ref, body.referee, body.kind)
    async with unit_of_work(request)() as uow:
        return await candidates.candidacy_view(uow, staff_ref)
