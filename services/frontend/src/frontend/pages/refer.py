"""A manager's path: suggest peer support for a worker of their site, signed in. The worker
is asked privately, by e-mail, and accepts or declines; the manager is never told the answer,
and the page says so. Where the site's program does not reach out on referrals by others,
nothing is stored and the manager is told how the worker can reach the program themself.
Coordinators may use it too. Every POST redirects."""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from contracts.types import Modality, Urgency
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from frontend.gateway import Refused
from frontend.pages.ask import EMAIL, PHONE, CaseForm, _staff_ref_ok, reasons
from frontend.refusals import said
from frontend.session import Session
from frontend.web import PageNotFound, SignedIn, check_form, render, services, translator

router = APIRouter()

MANAGER = "manager"
DONE = ("offered", "not_offered", "elsewhere")


def _may_refer(session: Session) -> list[str]:
    """The sites this person may suggest support at: a manager's, a coordinator's."""
    if not (MANAGER in session.roles or session.may_coordinate) or not session.sites:
        raise PageNotFound
    return list(session.sites)


class ReferForm(CaseForm):
    key: str = ""  # drawn with the form: sending it twice suggests support once
    site_id: str = ""


def _page(
    request: Request, session: Session, *, values: Any = None, problem: str | None = None, **context: Any
) -> HTMLResponse:
    return render(
        request,
        "refer.html",
        section="refer",
        sites=_may_refer(session),
        reasons=reasons(),
        urgencies=[u.value for u in Urgency],
        modalities=[m.value for m in Modality],
        values=values or {"key": secrets.token_urlsafe(16)},
        problem=problem,
        status_code=422 if problem else 200,
        **context,
    )


@router.get("/refer", response_class=HTMLResponse)
async def refer_form(request: Request, session: SignedIn, done: str = "", site: str = "") -> HTMLResponse:
    contact = None
    if done == "not_offered" and site in session.sites:
        try:
            contact = (await services(request, session).site_resources(site)).get("program_contact")
        except Refused:
            contact = None
    return _page(request, session, done=done if done in DONE else None, program_contact=contact)


@router.post("/refer", response_model=None)
async def refer(request: Request, session: SignedIn, form: Annotated[ReferForm, Form()]) -> Response:
    check_form(session, form.form_token)
    sites = _may_refer(session)
    t = translator(request)
    values = form.model_dump()
    category, _, kind = form.reason.partition(":")
    staff_id = form.staff_id.strip().lower()
    if staff_id and not staff_id.startswith("st-"):
        staff_id = f"st-{staff_id}"
    problems = [
        t(f"refer.missing.{field}")
        for field, ok in (
            ("site", form.site_id in sites),
            ("reason", (category, kind) in {(c, k) for c, ks in reasons() for k in ks}),
            ("urgency", form.urgency in {u.value for u in Urgency}),
            ("name", bool(form.name.strip())),
            # the worker is asked privately, by e-mail: without it nobody can ask them
            ("email", EMAIL.fullmatch(form.email.strip()) is not None),
            ("phone", not form.phone.strip() or PHONE.fullmatch(form.phone.strip()) is not None),
            ("staff_id", not staff_id or _staff_ref_ok(staff_id)),
        )
        if not ok
    ]
    if problems:
        return _page(request, session, values=values, problem=" ".join(problems))
    worker: dict[str, Any] = {"name": form.name.strip(), "email": form.email.strip()}
    if form.phone.strip():
        worker["phone"] = form.phone.strip()
    if staff_id:
        worker["staff_ref"] = staff_id
    body = {
        "site_id": form.site_id,
        "reason": {"category": category, "kind": kind},
        "urgency": form.urgency,
        "modality": form.modality if form.modality in {m.value for m in Modality} else "either",
        "worker": worker,
    }
    try:
        answer = await services(request, session).suggest_support(body, form.key or secrets.token_urlsafe(16))
    except Refused as exc:
        if exc.status in (401, 403):
            raise
        return _page(request, session, values=values, problem=t("help.refused", message=said(t, exc.message)))
    if answer.get("case_created"):
        done = "offered"
    elif category == "hr_matter":
        done = "elsewhere"  # handled by the people the site names: nothing was stored
    else:
        done = "not_offered"
    return RedirectResponse(f"/refer?{urlencode({'done': done, 'site': form.site_id})}", status_code=303)
