"""A site's public page data (display name, resources) as the authority sets it."""

from __future__ import annotations

from typing import Annotated

from contracts.types import (
    SiteId,
)
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel
from servicekit.api import unit_of_work
from servicekit.auth import Principal, Role, requires

from intake.domain import (
    DEFAULT_CRISIS_RESOURCES,
)
from intake.sites import handlers as site_handlers
from intake.web import Resource, SiteIn, SiteResources

router = APIRouter()


@router.put("/sites/{site_id}", status_code=204, tags=["sites"])
async def put_site(
    site_id: SiteId,
    body: SiteIn,
    request: Request,
    _admin: Annotated[Principal, Depends(requires(Role.AUTHORITY_ADMIN))],
) -> None:
    """A site of the authority and its program's policy and resources."""
    async with unit_of_work(request)() as uow:
        await site_handlers.upsert_site(uow, site_id, body.model_dump(mode="json"))


async def site_resources(request: Request, site_id: str) -> SiteResources:
    async with unit_of_work(request)() as uow:
        row = await site_handlers.site(uow, site_id)
    if row is None:
        raise HTTPException(404, f"site_id '{site_id}' is not a site of this authority")
    return SiteResources(
        site_id=row.site_id,
        display_name=row.display_name,
        program_contact=row.program_contact,
        crisis_resources=[Resource(**r) for r in (row.crisis_resources or DEFAULT_CRISIS_RESOURCES)],
        hr_resources=[Resource(**r) for r in (row.hr_resources or [])],
    )


class SiteListed(BaseModel):
    site_id: str
    display_name: str


@router.get("/sites", tags=["sites"])
async def get_sites(
    request: Request,
    _p: Annotated[
        Principal,
        Depends(
            requires(Role.OCCUPATIONAL_HEALTH, Role.MANAGER, Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN)
        ),
    ],
) -> list[SiteListed]:
    """The authority's sites by name, for those who refer a worker of any of them (EAP)."""
    async with unit_of_work(request)() as uow:
        rows = await site_handlers.every_site(uow)
    return [SiteListed(site_id=r.site_id, display_name=r.display_name) for r in rows]


@router.get("/sites/{site_id}/resources", response_model=SiteResources, tags=["sites"])
async def get_site_resources(site_id: SiteId, request: Request) -> SiteResources:
    """Public: what the form shows before anything is asked (crisis lines, where HR matters go)."""
    return await site_resources(request, site_id)
