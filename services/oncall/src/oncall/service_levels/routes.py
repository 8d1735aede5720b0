"""The authority's service levels per site: how soon a call back, how soon a first meeting."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from contracts.types import SiteId
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from servicekit.api import unit_of_work
from servicekit.auth import Principal, Role, requires

from oncall.service_levels import handlers as service_levels

router = APIRouter()


class ServiceLevelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_within_minutes: float = Field(gt=0, le=24 * 60, description="RISE: 30")
    meet_within_minutes: float = Field(gt=0, le=14 * 24 * 60, description="RISE: 720 (12 hours)")


@router.put("/sites/{site_id}/service-levels", status_code=204, tags=["service levels"])
async def put_service_levels(
    site_id: SiteId,
    body: ServiceLevelsIn,
    request: Request,
    _admin: Annotated[Principal, Depends(requires(Role.AUTHORITY_ADMIN))],
) -> None:
    """The site's two clocks, for cases that start from now on."""
    if body.meet_within_minutes < body.callback_within_minutes:
        raise HTTPException(422, "meet_within_minutes cannot be shorter than callback_within_minutes")
    async with unit_of_work(request)() as uow:
        await service_levels.set_service_levels(
            uow,
            site_id,
            timedelta(minutes=body.callback_within_minutes),
            timedelta(minutes=body.meet_within_minutes),
        )
