"""The site's ended cases, for a coordinator looking back: found by the start of a case's
id, the month it ended in, or its outcome. A GET form, so a search can be bookmarked and a
reload sends nothing."""

from __future__ import annotations

import asyncio
import re
from datetime import date

from contracts.types import CaseOutcome, SiteId
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from frontend.web import SignedIn, for_site, render, services, translator

router = APIRouter()

_ID_START = re.compile(r"^[0-9a-f-]{4,36}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month(value: str) -> tuple[date, date] | None:
    """The first day of the month and of the next one; None if it is not a month."""
    found = _MONTH.match(value)
    if not found:
        return None
    year, month = int(found[1]), int(found[2])
    if not (1 <= year <= 9998 and 1 <= month <= 12):
        return None
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


@router.get("/sites/{site_id}/history", response_class=HTMLResponse)
async def history(
    site_id: SiteId, request: Request, session: SignedIn, case: str = "", month: str = "", outcome: str = ""
) -> HTMLResponse:
    for_site(site_id, session)
    t = translator(request)
    case, month, outcome = case.strip().lower(), month.strip(), outcome.strip()
    filters: dict[str, str] = {}
    problems = []
    if case:
        if _ID_START.match(case):
            filters["referral"] = case
        else:
            problems.append(t("history.bad_case"))
    if month:
        period = _month(month)
        if period is None:
            problems.append(t("history.bad_month"))
        else:
            filters["since"], filters["until"] = period[0].isoformat(), period[1].isoformat()
    if outcome:
        if outcome in {o.value for o in CaseOutcome}:
            filters["outcome"] = outcome
        else:
            problems.append(t("history.bad_outcome"))
    calls = services(request, session)
    cases, site_zone = await asyncio.gather(
        calls.ended_referrals(site_id, **filters) if not problems else _nothing(), calls.site_zone(site_id)
    )
    return render(
        request,
        "history.html",
        status_code=422 if problems else 200,
        site=site_id,
        section="history",
        cases=cases,
        problem=" ".join(problems) or None,
        values={"case": case, "month": month, "outcome": outcome},
        outcomes=[o.value for o in CaseOutcome],
        site_zone=site_zone,  # a Vancouver site's cases ended in Vancouver's time
    )


async def _nothing() -> list[dict[str, object]]:
    return []
