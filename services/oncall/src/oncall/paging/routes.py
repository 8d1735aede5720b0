"""Pages: taken or declined (signed in, or from the link in a message), followed by the
coordinator (each page's delivery, the site's queue)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from contracts.types import SiteId
from fastapi import APIRouter, Depends, HTTPException, Request
from servicekit.api import unit_of_work
from servicekit.auth import Principal, ProgramStaff, Role, SiteCoordinator, ensure_site, requires

from oncall import views
from oncall.paging import answers
from oncall.paging.policy import PageClosed, PageNotFound
from oncall.paging.schemas import Answered, Episode, PageRow

router = APIRouter()


async def _answer(request: Request, page_id: uuid.UUID, principal: Principal, accept: bool) -> Answered:
    async with unit_of_work(request)() as uow:
        try:
            if accept:
                await answers.acknowledge(uow, page_id, principal)
            else:
                await answers.decline(uow, page_id, principal, request.app.state.policy)
        except PageNotFound:
            raise HTTPException(404, "no such page for you") from None
        except PageClosed as exc:
            raise HTTPException(409, str(exc)) from None
    return Answered(status="acknowledged" if accept else "declined")


@router.post("/pages/{page_id}/acknowledge", tags=["pages"])
async def acknowledge(page_id: uuid.UUID, request: Request, principal: ProgramStaff) -> Answered:
    """Take the case. Cancels every other pending page and timer of this referral."""
    return await _answer(request, page_id, principal, accept=True)


@router.post("/pages/{page_id}/decline", tags=["pages"])
async def decline(page_id: uuid.UUID, request: Request, principal: ProgramStaff) -> Answered:
    """Cannot take it now: the next person in the chain is paged at once."""
    return await _answer(request, page_id, principal, accept=False)


@router.get("/referrals/{referral_id}/pages", tags=["pages"])
async def referral_pages(
    referral_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))],
) -> list[PageRow]:
    """The referral's pages, each with how its messages are getting through."""
    async with unit_of_work(request)() as uow:
        site_id, pages = await views.pages_of(uow, referral_id)
    if site_id is None:
        raise HTTPException(404, "no pages for this referral")
    ensure_site(principal, site_id)
    return pages


@router.get("/sites/{site_id}/episodes", tags=["pages"])
async def site_episodes(
    site_id: SiteId,
    request: Request,
    principal: SiteCoordinator,
) -> list[Episode]:
    """The site's cases that still need something of oncall: who is being paged, whether
    paging escalated or found nobody to propose, and the two service-level clocks (due
    time and state: running, kept, missed or stopped). Ids and categories only."""
    async with unit_of_work(request)() as uow:
        return await views.site_episodes(uow, site_id, datetime.now(UTC))


# --- answering from a message ------------------------------------------------------------
