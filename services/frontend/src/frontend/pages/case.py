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
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from frontend.gateway import Refused
from frontend.queue import build_queue
from frontend.refusals import said
from frontend.session import Session
from frontend.web import (
    _STAFF_REF,
    PURPOSES,
    PageNotFound,
    SignedIn,
    check_form,
    for_site,
    hand_over_once,
    render,
    services,
    translator,
)

router = APIRouter()


def case_url(site_id: str | None, referral_id: uuid.UUID) -> str:
    """Where a case's page is: under its site for a coordinator, under /me for its supporter."""
    return f"/sites/{site_id}/cases/{referral_id}" if site_id else f"/me/cases/{referral_id}"


async def _case_page(
    request: Request,
    site_id: str | None,
    referral_id: uuid.UUID,
    session: Session,
    *,
    contact: dict[str, Any] | None = None,
    notice: str | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The case for a coordinator of ``site_id``, or, with no site, for a supporter who took
    it: the same summary, steps and reveal, without the match, the override and the pages."""
    calls = services(request, session)
    referral = await calls.referral(referral_id)
    coordinating = site_id is not None
    if coordinating and referral["site_id"] != site_id:
        raise PageNotFound  # an admin's link with another site's address: show it under its own
    context: dict[str, Any] = {
        "row": None,
        "proposal": None,
        "pages": [],
        "eligible": [],
        "my_pages": [],
        "names": {},
    }
    if site_id is not None:
        proposal, pages, eligible, episodes, names = await asyncio.gather(
            calls.proposal(referral_id),
            calls.pages(referral_id),
            calls.eligible_now(referral_id),
            calls.episodes(site_id),
            calls.supporter_names(site_id),
        )
        context = {
            "row": next(iter(build_queue([referral], episodes, datetime.now(UTC), names))),
            "names": names,  # supporters by their work names, as the queue says them
            "proposal": proposal,
            "pages": pages,
            "eligible": eligible,
            # a page sent to the signed-in coordinator (a crisis, nobody proposed): theirs to answer
            "my_pages": [
                p
                for p in pages
                if session.staff_ref and p["recipient"] == session.staff_ref and p["status"] == "sent"
            ],
        }
    return render(
        request,
        "case.html",
        status_code=status_code,
        site=site_id,
        section="queue" if coordinating else "me",
        coordinating=coordinating,
        case_url=case_url(site_id, referral_id),
        referral=referral,
        access_log=await calls.access_log(referral_id),
        contact=contact,
        notice=notice,
        problem=problem,
        purposes=PURPOSES,
        override_reasons=[r.value for r in OverrideReason],
        outcomes=[o.value for o in CaseOutcome],
        steps=STEPS,
        **context,
    )


async def _refused(
    request: Request, site_id: str | None, referral_id: uuid.UUID, session: Session, exc: Refused, phrase: str
) -> HTMLResponse:
    """A service said no: the case page again with its reason (not found and forbidden go to
    the error pages, which say nothing of another site)."""
    if exc.status in (401, 403, 404):
        raise exc
    t = translator(request)
    problem = t(phrase, message=said(t, exc.message))
    return await _case_page(request, site_id, referral_id, session, problem=problem, status_code=exc.status)


# the contact a reveal read, handed to the page the POST redirects to and gone after it: a
# reload shows the page without it and reads (and audits) nothing again
REVEALED = "pss_revealed"
REVEALED_SECONDS = 60


async def _show(
    request: Request, site_id: str | None, referral_id: uuid.UUID, session: Session, assigned: str, done: str
) -> HTMLResponse:
    t = translator(request)
    notice = t("case.override.done", supporter=assigned) if assigned else None
    if done in (*STEPS, "take", "decline"):
        notice = t(f"case.done.{done}")
    revealed = request.app.state.sealer.open(request.cookies.get(REVEALED), max_age=REVEALED_SECONDS)
    contact = None
    if (
        revealed
        and revealed.get("referral_id") == str(referral_id)
        and revealed.get("subject") == session.subject
    ):
        contact = revealed.get("contact")
    response = await _case_page(request, site_id, referral_id, session, notice=notice, contact=contact)
    response.delete_cookie(REVEALED, path="/")
    return response


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
    return await _show(request, site_id, referral_id, session, assigned, done)


@router.get("/me/cases/{referral_id}", response_class=HTMLResponse)
async def my_case(
    referral_id: uuid.UUID, request: Request, session: SignedIn, done: str = ""
) -> HTMLResponse:
    """A case the signed-in supporter took (intake answers 404 for any other)."""
    return await _show(request, None, referral_id, session, "", done)


async def _reveal(
    request: Request,
    site_id: str | None,
    referral_id: uuid.UUID,
    session: Session,
    form_token: str,
    purpose: str,
) -> RedirectResponse | HTMLResponse:
    """The worker's contact, on an explicit request: intake records who read it and why
    before it answers. Never put in an address; handed to the next page sealed, for a minute."""
    check_form(session, form_token)
    if purpose not in PURPOSES:
        problem = translator(request)("form.error", message="purpose")
        return await _case_page(request, site_id, referral_id, session, problem=problem, status_code=422)
    calls = services(request, session)
    referral = await calls.referral(referral_id)  # the site check comes before the read
    if site_id is not None and referral["site_id"] != site_id:
        raise PageNotFound
    contact = await calls.reveal_contact(referral_id, purpose)
    response = RedirectResponse(case_url(site_id, referral_id), status_code=303)
    sealed = {"referral_id": str(referral_id), "subject": session.subject, "contact": contact}
    hand_over_once(request, response, REVEALED, sealed, REVEALED_SECONDS)
    return response


class RevealForm:
    def __init__(self, form_token: Annotated[str, Form()], purpose: Annotated[str, Form()]) -> None:
        self.form_token, self.purpose = form_token, purpose


Reveal = Annotated[RevealForm, Depends()]


@router.post("/sites/{site_id}/cases/{referral_id}/reveal", response_model=None)
async def reveal(
    site_id: SiteId, referral_id: uuid.UUID, request: Request, session: SignedIn, form: Reveal
) -> RedirectResponse | HTMLResponse:
    for_site(site_id, session)
    return await _reveal(request, site_id, referral_id, session, form.form_token, form.purpose)


@router.post("/me/cases/{referral_id}/reveal", response_model=None)
async def reveal_mine(
    referral_id: uuid.UUID, request: Request, session: SignedIn, form: Reveal
) -> RedirectResponse | HTMLResponse:
    return await _reveal(request, None, referral_id, session, form.form_token, form.purpose)


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


class StepForm:
    """What a step's form sends: the meeting's length, the close's outcome."""

    def __init__(
        self,
        form_token: Annotated[str, Form()],
        step: Annotated[str, Form()],
        minutes: Annotated[str, Form()] = "",
        outcome: Annotated[str, Form()] = "",
        contact_made: Annotated[str, Form()] = "",
    ) -> None:
        self.form_token, self.step, self.minutes = form_token, step, minutes.strip()
        self.outcome, self.contact_made = outcome, contact_made


async def _record_step(
    request: Request, site_id: str | None, referral_id: uuid.UUID, session: Session, form: StepForm
) -> RedirectResponse | HTMLResponse:
    """The call back, a meeting (with its length), the close (with its outcome) or a
    withdrawal, recorded in intake; a refusal (an ended case) is shown with its reason."""
    check_form(session, form.form_token)
    t = translator(request)
    body: dict[str, Any] | None = None
    problem = None
    if form.step == "encounters" and form.minutes:
        body = {"duration_minutes": int(form.minutes)} if form.minutes.isdigit() else None
        if body is None or not 1 <= body["duration_minutes"] <= 1440:
            problem = t("case.act.bad_minutes")
    elif form.step == "close":
        if form.outcome not in {o.value for o in CaseOutcome} or form.contact_made not in ("yes", "no"):
            problem = t("case.act.bad_close")
        else:
            body = {"contact_made": form.contact_made == "yes", "outcome": form.outcome}
    elif form.step not in STEPS:
        raise PageNotFound
    if problem:
        return await _case_page(request, site_id, referral_id, session, problem=problem, status_code=422)
    if site_id is not None:
        await _own_case(request, site_id, referral_id, session)
    try:
        await services(request, session).record(referral_id, form.step, body)
    except Refused as exc:
        return await _refused(request, site_id, referral_id, session, exc, "case.act.refused")
    return RedirectResponse(f"{case_url(site_id, referral_id)}?done={form.step}", status_code=303)


@router.post("/sites/{site_id}/cases/{referral_id}/steps", response_model=None)
async def record_step(
    site_id: SiteId,
    referral_id: uuid.UUID,
    request: Request,
    session: SignedIn,
    form: Annotated[StepForm, Depends()],
) -> RedirectResponse | HTMLResponse:
    for_site(site_id, session)
    return await _record_step(request, site_id, referral_id, session, form)


@router.post("/me/cases/{referral_id}/steps", response_model=None)
async def record_my_step(
    referral_id: uuid.UUID, request: Request, session: SignedIn, form: Annotated[StepForm, Depends()]
) -> RedirectResponse | HTMLResponse:
    return await _record_step(request, None, referral_id, session, form)


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
