"""A case: its state, the proposal and why, the contact (revealed for a purpose, audited), an
override."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from contracts.types import OverrideReason, SiteId
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from frontend.gateway import Refused
from frontend.queue import build_queue
from frontend.session import Session
from frontend.web import (
    _STAFF_REF,
    PURPOSES,
    PageNotFound,
    SignedIn,
    check_form,
    for_site,
    render,
    services,
    translator,
)

router = APIRouter()


async def _case_page(
    request: Request,
    site_id: str,
    referral_id: uuid.UUID,
    session: Session,
    *,
    contact: dict[str, Any] | None = None,
    notice: str | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    calls = services(request, session)
    referral = await calls.referral(referral_id)
    if referral["site_id"] != site_id:
        raise PageNotFound  # an admin's link with another site's address: show it under its own
    proposal, pages, log, eligible, episodes = await asyncio.gather(
        calls.proposal(referral_id),
        calls.pages(referral_id),
        calls.access_log(referral_id),
        calls.eligible_now(referral_id),
        calls.episodes(site_id),
    )
    row = next(iter(build_queue([referral], episodes, datetime.now(UTC))))
    return render(
        request,
        "case.html",
        status_code=status_code,
        site=site_id,
        section="queue",
        referral=referral,
        row=row,
        proposal=proposal,
        pages=pages,
        access_log=log,
        eligible=eligible,
        contact=contact,
        notice=notice,
        problem=problem,
        purposes=PURPOSES,
        override_reasons=[r.value for r in OverrideReason],
    )


@router.get("/sites/{site_id}/cases/{referral_id}", response_class=HTMLResponse)
async def case(
    site_id: SiteId, referral_id: uuid.UUID, request: Request, session: SignedIn, assigned: str = ""
) -> HTMLResponse:
    for_site(site_id, session)
    t = translator(request)
    notice = t("case.override.done", supporter=assigned) if assigned else None
    return await _case_page(request, site_id, referral_id, session, notice=notice)


@router.post("/sites/{site_id}/cases/{referral_id}/reveal", response_class=HTMLResponse)
async def reveal(
    site_id: SiteId,
    referral_id: uuid.UUID,
    request: Request,
    session: SignedIn,
    form_token: Annotated[str, Form()],
    purpose: Annotated[str, Form()],
) -> HTMLResponse:
    """The worker's contact, on an explicit request: intake records who read it and why
    before it answers. Shown once in this answer, never stored or put in an address."""
    for_site(site_id, session)
    check_form(session, form_token)
    if purpose not in PURPOSES:
        t = translator(request)
        return await _case_page(
            request,
            site_id,
            referral_id,
            session,
            problem=t("form.error", message="purpose"),
            status_code=422,
        )
    calls = services(request, session)
    referral = await calls.referral(referral_id)  # the site check comes before the read
    if referral["site_id"] != site_id:
        raise PageNotFound
    contact = await calls.reveal_contact(referral_id, purpose)
    return await _case_page(request, site_id, referral_id, session, contact=contact)


@router.post("/sites/{site_id}/cases/{referral_id}/override", response_model=None)
async def override(
    site_id: SiteId,
    referral_id: uuid.UUID,
    request: Request,
    session: SignedIn,
    form_token: Annotated[str, Form()],
    supporter: Annotated[str, Form()],
    reason: Annotated[str, Form()],
) -> RedirectResponse | HTMLResponse:
    for_site(site_id, session)
    check_form(session, form_token)
    t = translator(request)
    try:
        chosen = _STAFF_REF.validate_python(supporter)
        why = OverrideReason(reason)
    except (ValidationError, ValueError):
        problem = t("form.error", message=f"{supporter!r} / {reason!r}")
        return await _case_page(request, site_id, referral_id, session, problem=problem, status_code=422)
    calls = services(request, session)
    referral = await calls.referral(referral_id)
    if referral["site_id"] != site_id:
        raise PageNotFound
    try:
        await calls.override(referral_id, chosen, why.value)
    except Refused as exc:
        if exc.status in (401, 403, 404):
            raise
        problem = t("form.error", message=exc.message)
        return await _case_page(
            request, site_id, referral_id, session, problem=problem, status_code=exc.status
        )
    return RedirectResponse(
        f"/sites/{site_id}/cases/{referral_id}?{urlencode({'assigned': chosen})}", status_code=303
    )
