"""metrics' HTTP API: the published, de-identified figures of closed months and quarters.

A site coordinator sees their own site; the authority sees every site and the roll-up;
operations see none of it. Every view reads the same frozen publication, so no two views
can be differenced."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from contracts.types import SiteId
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from servicekit.api import unit_of_work
from servicekit.auth import Admin, Coordinator, SiteCoordinator

from metrics import handlers
from metrics.publication import AUTHORITY, is_quarter, last_closed_month, months_of
from metrics.schemas import (
    AuthorityAggregates,
    Cell,
    Periods,
    RegionCells,
    ScopedCell,
    SiteAggregates,
    SiteEntryOut,
    Sites,
)
from metrics.settings import MetricsSettings

router = APIRouter()

Period = Annotated[
    str,
    Query(
        pattern=r"^[0-9]{4}-((0[1-9]|1[0-2])(-correction-[1-9][0-9]{0,3})?|Q[1-4])$",
        description="A month (YYYY-MM) or a quarter (YYYY-Qn), once closed, or a month's correction "
        "(YYYY-MM-correction-n: its events that came after it was published).",
    ),
]
COLUMNS = ("scope", "period", "measure", "dimension", "value", "withheld")


async def _cells(request: Request, period: str, scopes: list[str] | None) -> list[dict[str, Any]]:
    settings: MetricsSettings = request.app.state.settings
    async with unit_of_work(request)() as uow:
        try:
            return await handlers.published(uow, period, scopes)
        except handlers.NoSuchCorrection:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"no correction {period} was published: GET /periods lists each month's corrections",
            ) from None
        except handlers.NeverPublished:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"nothing was published for {period}: it came before any count"
            ) from None
        except handlers.NotPublishedYet:
            grace = timedelta(hours=settings.month_closes_after_hours)
            last = months_of(period)[-1] if is_quarter(period) else period
            if last <= last_closed_month(datetime.now(UTC), grace):
                async with unit_of_work(request)() as uow:
                    if await handlers.nothing_counted(uow, period):
                        return []  # closed with no event: every figure of it is nothing
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    f"{period} has closed and is being published; try again in a few minutes",
                ) from None
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"{period} is still open: a month is published {settings.month_closes_after_hours:g} hours"
                f" after it ends{' (a quarter with its last month)' if is_quarter(period) else ''},"
                " and never changes after",
            ) from None


def _csv(cells: list[dict[str, Any]], period: str, filename: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for cell in cells:
        writer.writerow({**cell, "period": period, "value": "" if cell["value"] is None else cell["value"]})
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}-{period}.csv"'},
    )


def _of(cells: list[dict[str, Any]], scope: str) -> list[Cell]:
    return [Cell(**c) for c in cells if c["scope"] == scope]


@router.get("/periods", tags=["aggregates"])
async def periods(request: Request, _: Coordinator) -> Periods:
    """The months and quarters published so far."""
    async with unit_of_work(request)() as uow:
        return Periods(periods=await handlers.published_periods(uow))


async def _site_and_region(request: Request, site_id: str, period: str) -> tuple[str | None, list[Any]]:
    """The site's region (as the period's directory had it) and the cells of both."""
    async with unit_of_work(request)() as uow:
        region = await handlers.region_of(uow, site_id, period)
    return region, await _cells(request, period, [site_id, *([region] if region else [])])


@router.get("/sites/{site_id}/aggregates", tags=["aggregates"])
async def site_aggregates(
    site_id: SiteId, request: Request, principal: SiteCoordinator, period: Period
) -> SiteAggregates:
    """The site's published figures for a month or a quarter, and its region's."""
    region, cells = await _site_and_region(request, site_id, period)
    return SiteAggregates(
        site_id=site_id,
        period=period,
        suppress_below=request.app.state.settings.suppress_below,
        cells=_of(cells, site_id),
        # a small site's figures are mostly withheld: its region's are what it can use
        region=RegionCells(scope=region, cells=_of(cells, region)) if region else None,
    )


@router.get("/sites/{site_id}/aggregates.csv", tags=["aggregates"], response_class=Response)
async def site_aggregates_csv(
    site_id: SiteId, request: Request, principal: SiteCoordinator, period: Period
) -> Response:
    """The site's figures and its region's, as the JSON gives them, one row per cell."""
    _, cells = await _site_and_region(request, site_id, period)
    return _csv(cells, period, f"peer-support-{site_id}")


@router.get("/authority/aggregates", tags=["aggregates"])
async def authority_aggregates(request: Request, _: Admin, period: Period) -> AuthorityAggregates:
    """Every site and the roll-up (scope ``authority``)."""
    cells = await _cells(request, period, None)
    return AuthorityAggregates(
        period=period,
        suppress_below=request.app.state.settings.suppress_below,
        roll_up=AUTHORITY,
        cells=[ScopedCell(**c) for c in cells],
    )


@router.get("/authority/aggregates.csv", tags=["aggregates"], response_class=Response)
async def authority_aggregates_csv(request: Request, _: Admin, period: Period) -> Response:
    return _csv(await _cells(request, period, None), period, "peer-support-authority")


class SiteEntry(BaseModel):
    """What the authority says of one of its sites."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"region": "north-shore", "staff_count": 1850}]}
    )
    region: (
        Annotated[
            str,
            StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$"),
            Field(description="The region the site's small figures are grouped into (lowercase, digits, -)."),
        ]
        | None
    ) = None
    staff_count: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Staff at the site, for referrals per 100 staff."
    )


@router.put("/sites/{site_id}", tags=["site directory"])
async def put_site(site_id: SiteId, entry: SiteEntry, request: Request, _: Admin) -> SiteEntryOut:
    """Takes effect from the next quarter: a quarter is grouped by the directory as it
    stood when its first month was published, so its months and its total agree."""
    async with unit_of_work(request)() as uow:
        await handlers.put_site(uow, site_id, entry.region, entry.staff_count, datetime.now(UTC))
    return SiteEntryOut(site_id=site_id, **entry.model_dump())


@router.get("/sites", tags=["site directory"])
async def list_sites(request: Request, _: Admin) -> Sites:
    """The authority's sites as metrics groups them: region and staff count."""
    async with unit_of_work(request)() as uow:
        return Sites(sites=[SiteEntryOut(**site) for site in await handlers.sites(uow)])
