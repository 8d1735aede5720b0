"""Supporting the supporters: debriefs after hard cases, and the prompts to one after an
encounter."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from contracts.types import Day, SiteId, StaffRef
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import Field, StringConstraints, model_validator
from servicekit.api import refusals, unit_of_work
from servicekit.auth import PeerSupporter, Principal, SiteCoordinator

from training import common
from training.supporter_care import handlers as supporter_care
from training.supporter_care.schemas import Debrief, DebriefPrompt, DebriefRecorded, PromptAnswered
from training.web import Strict, not_ahead

router = APIRouter()


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
        not_ahead(self.held_on, "a debrief")
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
    site_id: SiteId, body: DebriefIn, request: Request, principal: SiteCoordinator
) -> DebriefRecorded:
    """A debrief and who attended; nothing of what was said."""
    async with unit_of_work(request)() as uow:
        with refusals({common.UnknownRecord: 422}):
            debrief_id = await supporter_care.record_debrief(
                uow,
                site_id=site_id,
                held_on=body.held_on,
                kind=body.kind.value,
                minutes=body.minutes,
                attendees=set(body.attendees),
                by=principal.subject,
            )
    return DebriefRecorded(debrief_id=debrief_id, attendees=len(set(body.attendees)))


@router.get("/sites/{site_id}/debriefs", tags=["supporting the supporters"])
async def get_debriefs(
    site_id: SiteId,
    request: Request,
    principal: SiteCoordinator,
    month: Annotated[Month | None, Query(description="YYYY-MM; this month if not given")] = None,
) -> list[Debrief]:
    """The site's debriefs held in the month, with who attended."""
    start = date.fromisoformat(f"{month}-01") if month else datetime.now(UTC).date().replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    async with unit_of_work(request)() as uow:
        return await supporter_care.debriefs_of(uow, site_id, start, end)


@router.get("/sites/{site_id}/debrief-prompts", tags=["supporting the supporters"])
async def get_site_prompts(
    site_id: SiteId, request: Request, principal: SiteCoordinator
) -> list[DebriefPrompt]:
    """Supporters of the site with a debrief offered and not yet answered."""
    async with unit_of_work(request)() as uow:
        return await supporter_care.debrief_prompts(uow, site_id=site_id)


def _own_ref(principal: Principal) -> str:
    if not principal.staff_ref:
        raise HTTPException(403, "your sign-in carries no staff reference; ask the authority to add it")
    return principal.staff_ref


@router.get("/me/debrief-prompts", tags=["supporting the supporters"])
async def get_my_prompts(request: Request, principal: PeerSupporter) -> list[DebriefPrompt]:
    """My debrief offers: after a case I took, a debrief is offered; I answer when I want."""
    async with unit_of_work(request)() as uow:
        return await supporter_care.debrief_prompts(uow, staff_ref=_own_ref(principal))


@router.post("/me/debrief-prompts/{prompt_id}", tags=["supporting the supporters"])
async def answer_my_prompt(
    prompt_id: uuid.UUID, body: PromptAnswerIn, request: Request, principal: PeerSupporter
) -> PromptAnswered:
    async with unit_of_work(request)() as uow:
        with refusals({common.UnknownRecord: 404, common.Conflict: 409}):
            await supporter_care.answer_debrief_prompt(
                uow, prompt_id, _own_ref(principal), body.outcome.value
            )
    return PromptAnswered(prompt_id=prompt_id, outcome=body.outcome.value)
