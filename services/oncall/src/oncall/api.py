"""oncall's HTTP API: supporters answer pages; coordinators set duty and follow pages."""

from __future__ import annotations

import uuid
from typing import Annotated

from contracts.types import SiteId, StaffRef
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict
from servicekit.auth import Principal, Role, ensure_site, requires
from servicekit.database import UnitOfWorkFactory

from oncall import handlers

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
