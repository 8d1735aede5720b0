"""A case: its state, the proposal and why, the contact (revealed for a purpose, audited), an
override, and every step of its life a coordinator takes: their own page taken or declined,
the call back, a meeting and its length, the close with its outcome, a withdrawal. Every
POST redirects, so a reload sends nothing again."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from contracts.types import CaseOutcome, OverrideReason, SiteId
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
    # a page sent to the signed-in coordinator (a crisis, nobody proposed): theirs to answer
    mine = [
        p
        for p in pages
        if session.staff_ref and p["recipient"] == session.staff_ref and p["status"] == "sent"
    ]
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
        my_pages=mine,
        outcomes=[o.value for o in CaseOutcome],
        steps=STEPS,
    )


async def _refused(
    request: Request, site_id: str, referral_id: uuid.UUID, session: Session, exc: Refused, phrase: str
) -> HTMLResponse:
    """A service said no: the case page again with its reason (not found and forbidden go to
    the error pages, which say nothing of another site)."""
    if exc.status in (401, 403, 404):
        raise exc
    problem = translator(request)(phrase, message=exc.message)
    return await _case_page(request, site_id, referral_id, session, problem=problem, status_code=exc.status)


@router.get("/sites/{site_id}/cases/{referral_id}", response_class=HTMLResponse)
async def case(
    site_id: SiteId,
    referral_id: uuid.UUID,
    request: Request,
    session: SignedIn,
    assigned: str = "",
    done: str = "",
) -> HTMLResponse:
    for_site(site_id, session)
    t = translator(request)
    notice = t("case.override.done", supporter=assigned) if assigned else None
    if done in (*STEPS, "take", "decline"):
        notice = t(f"case.done.{done}")
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
        return await _refused(request, site_id, referral_id, session, exc, "form.error")
    return RedirectResponse(
        f"/sites/{site_id}/cases/{referral_id}?{urlencode({'assigned': chosen})}", status_code=303
    )


STEPS = ("contacted", "encounters", "close", "withdraw")


async def _own_case(request: Request, site_id: str, referral_id: uuid.UUID, session: Session) -> None:
    referral = await services(request, session).referral(referral_id)
    if referral["site_id"] != site_id:
        raise PageNotFound


@router.post("/sites/{site_id}/cases/{referral_id}/steps", response_model=None)
async def record_step(
    site_id: SiteId,
    referral_id: uuid.UUID,
    request: Request,
    session: SignedIn,
    form_token: Annotated[str, Form()],
    step: Annotated[str, Form()],
    minutes: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    contact_made: Annotated[str, Form()] = "",
) -> RedirectResponse | HTMLResponse:
    """The call back, a meeting (with its length), the close (with its outcome) or a
    withdrawal, recorded in intake; a refusal (an ended case) is shown with its reason."""
    for_site(site_id, session)
    check_form(session, form_token)
    t = translator(request)
    body: dict[str, Any] | None = None
    problem = None
    if step == "encounters" and minutes.strip():
        body = {"duration_minutes": int(minutes)} if minutes.strip().isdigit() else None
        if body is None or not 1 <= body["duration_minutes"] <= 1440:
            problem = t("case.act.bad_minutes")
    elif step == "close":
        if outcome not in {o.value for o in CaseOutcome} or contact_made not in ("yes", "no"):
            problem = t("case.act.bad_close")
        else:
            body = {"contact_made": contact_made == "yes", "outcome": outcome}
    elif step not in STEPS:
        raise PageNotFound
    if problem:
        return await _case_page(request, site_id, referral_id, session, problem=problem, status_code=422)
    await _own_case(request, site_id, referral_id, session)
    try:
        await services(request, session).record(referral_id, step, body)
    except Refused as exc:
        return await _refused(request, site_id, referral_id, session, exc, "case.act.refused")
    return RedirectResponse(f"/sites/{site_id}/cases/{referral_id}?done={step}", status_code=303)


@router.post("/sites/{site_id}/cases/{referral_id}/pages/{page_id}/{answer}", response_model=None)
async def answer_my_page(
    site_id: SiteId,
    referral_id: uuid.UUID,
    page_id: uuid.UUID,
    answer: str,
    request: Request,
    session: SignedIn,
    form_token: Annotated[str, Form()],
) -> RedirectResponse | HTMLResponse:
    """The coordinator takes (or declines) a page sent to them, as a supporter would."""
    for_site(site_id, session)
    check_form(session, form_token)
    if answer not in ("take", "decline"):
        raise PageNotFound
    await _own_case(request, site_id, referral_id, session)
    try:
        await services(request, session).answer_page(page_id, accept=answer == "take")
    except Refused as exc:
        return await _refused(request, site_id, referral_id, session, exc, "case.act.refused")
    return RedirectResponse(f"/sites/{site_id}/cases/{referral_id}?done={answer}", status_code=303)
