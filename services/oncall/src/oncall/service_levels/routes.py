"""The authority's service levels per site: how soon a call back, how soon a first meeting,
and how long a page waits for an answer before the next person is paged."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from contracts.types import SiteId, Urgency
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from servicekit.api import unit_of_work
from servicekit.auth import Principal, Role, SiteCoordinator, requires

from oncall.escalation import SiteTimeouts
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


# a page waits at least half a minute (a person must be able to read it and answer) and at
# most a day (a request nobody answers for longer is not being handled)
Wait = Annotated[float, Field(ge=30, le=24 * 3600)]


class AckTimeoutsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_seconds: Wait | None = Field(default=None, description="Every urgency not named below")
    crisis_seconds: Wait | None = Field(default=None, description="A crisis, whatever its urgency")
    by_urgency: dict[Urgency, Wait] = Field(default_factory=dict, description="e.g. {within_days: 3600}")


class AckTimeouts(AckTimeoutsIn):
    site_id: str
    effective_seconds: dict[str, float] = Field(
        description="What a page of the site waits now: crisis and each urgency, with the deployment's "
        "settings where the site has none"
    )


def _shown(request: Request, site_id: str, site: SiteTimeouts | None) -> AckTimeouts:
    policy = request.app.state.policy
    effective = {"crisis": policy.timeout(True, None, site).total_seconds()}
    effective |= {u.value: policy.timeout(False, u, site).total_seconds() for u in Urgency}
    return AckTimeouts(
        site_id=site_id,
        default_seconds=site.default.total_seconds() if site and site.default else None,
        crisis_seconds=site.crisis.total_seconds() if site and site.crisis else None,
        by_urgency={u: d.total_seconds() for u, d in site.by_urgency.items()} if site else {},
        effective_seconds=effective,
    )


@router.put("/sites/{site_id}/acknowledge-timeouts", tags=["service levels"])
async def put_ack_timeouts(
    site_id: SiteId,
    body: AckTimeoutsIn,
    request: Request,
    _admin: Annotated[Principal, Depends(requires(Role.AUTHORITY_ADMIN))],
) -> AckTimeouts:
    """How long a page of the site waits for an answer before the next person is paged, by
    urgency and for a crisis; unset ones keep the deployment's. Pages already sent keep
    theirs."""
    if body.crisis_seconds and any(
        body.crisis_seconds > s for s in (body.default_seconds, *body.by_urgency.values()) if s
    ):
        raise HTTPException(
            422, "crisis_seconds cannot be longer than the other timeouts: a crisis waits least"
        )
    async with unit_of_work(request)() as uow:
        await service_levels.set_ack_timeouts(
            uow,
            site_id,
            timedelta(seconds=body.default_seconds) if body.default_seconds else None,
            timedelta(seconds=body.crisis_seconds) if body.crisis_seconds else None,
            {u: timedelta(seconds=s) for u, s in body.by_urgency.items()},
        )
        site = await service_levels.ack_timeouts(uow, site_id)
    return _shown(request, site_id, site)


@router.get("/sites/{site_id}/acknowledge-timeouts", tags=["service levels"])
async def get_ack_timeouts(site_id: SiteId, request: Request, principal: SiteCoordinator) -> AckTimeouts:
    """What a page of the site waits for an answer, as set and in effect."""
    async with unit_of_work(request)() as uow:
        site = await service_levels.ack_timeouts(uow, site_id)
    return _shown(request, site_id, site)
