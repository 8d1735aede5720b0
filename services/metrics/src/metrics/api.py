"""metrics' HTTP API: a site's aggregates, small cells suppressed."""

from __future__ import annotations

from typing import Annotated

from contracts.types import SiteId
from fastapi import APIRouter, Depends, Query, Request
from servicekit.auth import Principal, Role, ensure_site, requires

from metrics import handlers

router = APIRouter()


@router.get("/sites/{site_id}/aggregates", tags=["aggregates"])
async def site_aggregates(
    site_id: SiteId,
    request: Request,
    principal: Annotated[Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))],
    period: Annotated[str, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")],
) -> dict[str, object]:
    ensure_site(principal, site_id)
    async with request.app.state.uow() as uow:
        cells = await handlers.site_aggregates(
            uow, site_id, period, suppress_below=request.app.state.suppress_below
        )
    return {
        "site_id": site_id,
        "period": period,
        "suppress_below": request.app.state.suppress_below,
        "cells": cells,
    }
