"""The site's de-identified figures, as a page and as CSV."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from contracts.types import SiteId
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from frontend import charts
from frontend.gateway import Refused
from frontend.refusals import said
from frontend.web import SignedIn, for_site, render, services, translator

router = APIRouter()


# --- metrics -----------------------------------------------------------------------------

PERIOD = r"^[0-9]{4}-((0[1-9]|1[0-2])(-correction-[1-9][0-9]{0,3})?|Q[1-4])$"  # as metrics names them


@router.get("/sites/{site_id}/metrics", response_class=HTMLResponse)
async def metrics(
    site_id: SiteId,
    request: Request,
    session: SignedIn,
    period: Annotated[str | None, Query(pattern=PERIOD)] = None,
) -> HTMLResponse:
    for_site(site_id, session)
    calls = services(request, session)
    periods = await calls.periods()
    chosen = period or (periods[-1] if periods else None)
    figures, problem = None, None
    if chosen:
        try:
            figures = await calls.aggregates(site_id, chosen)
        except Refused as exc:
            if exc.status in (401, 403):
                raise
            problem = said(translator(request), exc.message)
    return render(
        request,
        "metrics.html",
        site=site_id,
        section="metrics",
        periods=periods,
        period=chosen,
        figures=figures,
        charts=charts.measure_charts(figures["cells"]) if figures else [],
        region_charts=charts.measure_charts(figures["region"]["cells"])
        if figures and figures["region"]
        else [],
        problem=problem,
        csv_link=f"/sites/{site_id}/metrics.csv?period={quote(chosen)}" if chosen else None,
    )


@router.get("/sites/{site_id}/metrics.csv")
async def metrics_csv(
    site_id: SiteId, request: Request, session: SignedIn, period: Annotated[str, Query(pattern=PERIOD)]
) -> Response:
    for_site(site_id, session)
    answer = await services(request, session).aggregates_csv(site_id, period)
    return Response(
        answer.content,
        media_type="text/csv",
        headers={
            "Content-Disposition": answer.headers.get(
                "content-disposition", f'attachment; filename="peer-support-{site_id}-{period}.csv"'
            ),
            "Cache-Control": "no-store",
        },
    )
