"""matching's HTTP API: the directory and roster, and proposals with their explanation."""

from __future__ import annotations

import uuid
from typing import Annotated

from contracts.types import Gender, LanguageCode, SiteId, StaffRef
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from servicekit.auth import Principal, Role, ensure_site, requires
from servicekit.database import UnitOfWorkFactory

from matching import handlers

router = APIRouter()
Admin = Annotated[Principal, Depends(requires(Role.AUTHORITY_ADMIN))]
Profession = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_-]{1,39}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonIn(Strict):
    staff_ref: StaffRef
    site_id: SiteId
    profession: Profession
    seniority: int = Field(ge=1, le=6, description="Authority-wide ladder, see matching.rules")
    years_experience: int = Field(default=0, ge=0, le=70)
    languages: list[LanguageCode] = Field(default_factory=list, max_length=10)
    reports_to: StaffRef | None = None
    gender: Gender | None = Field(default=None, description="Only to honour a worker's preference")


class EvaluatorIn(Strict):
    evaluator_ref: StaffRef
    evaluatee_ref: StaffRef
    kind: Annotated[str, StringConstraints(pattern=r"^(manager|preceptor|program_director|declared)$")]


class SupporterIn(Strict):
    paused: bool = False
    mental_health_professional: bool = False
    dual_relationships: list[StaffRef] = Field(default_factory=list, max_length=50)


def _uow(request: Request) -> UnitOfWorkFactory:
    return request.app.state.uow  # type: ignore[no-any-return]


@router.put("/directory/people", tags=["directory"])
async def put_people(body: list[PersonIn], request: Request, _a: Admin) -> dict[str, int]:
    async with _uow(request)() as uow:
        return {"upserted": await handlers.upsert_people(uow, [p.model_dump(mode="json") for p in body])}


@router.put("/directory/evaluators", tags=["directory"])
async def put_evaluators(body: list[EvaluatorIn], request: Request, _a: Admin) -> dict[str, int]:
    async with _uow(request)() as uow:
        return {"upserted": await handlers.upsert_evaluators(uow, [e.model_dump() for e in body])}


@router.put("/supporters/{staff_ref}", status_code=204, tags=["roster"])
async def put_supporter(staff_ref: StaffRef, body: SupporterIn, request: Request, _a: Admin) -> None:
    async with _uow(request)() as uow:
        await handlers.upsert_supporter(uow, staff_ref, body.model_dump())


@router.get("/proposals/{referral_id}", tags=["proposals"])
async def get_proposal(
    referral_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))],
) -> dict[str, object]:
    """The ranked candidates and how many were excluded by which rule; never who or why."""
    async with _uow(request)() as uow:
        row = await handlers.proposal(uow, referral_id)
    if row is None:
        raise HTTPException(404, "no proposal for this referral yet")
    ensure_site(principal, row.site_id)
    return {
        "referral_id": row.referral_id,
        "site_id": row.site_id,
        "matched": row.matched,
        "candidates": row.candidates,
        "excluded_by_rule": row.excluded,
        "decided_at": row.decided_at,
    }
