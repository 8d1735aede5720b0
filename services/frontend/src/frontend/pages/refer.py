"""Referring a worker, signed in. A manager suggests peer support for a worker of their site:
the worker is asked privately, by e-mail, and accepts or declines; the manager is never told
the answer, and the page says so. Where the site's program does not reach out on referrals by
others, nothing is stored and the manager is told how the worker can reach the program
themself. Coordinators may use it too. EAP and occupational-health staff refer a worker of any
site who consented, with how and when: a supporter then contacts the worker. Every POST
redirects."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
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

MANAGER, EAP = "manager", "occupational_health"
DONE = ("offered", "not_offered", "elsewhere", "received")
CONSENT = ("verbal", "written", "electronic")


def _path(session: Session) -> str:
    """Which way in this person refers by: EAP (any site, with consent) or a manager's."""
    if EAP in session.roles:
        return "eap"
    if (MANAGER in session.roles or session.may_coordinate) and session.sites:
        return "manager"
    raise PageNotFound


async def _sites(request: Request, session: Session) -> list[dict[str, str]]:
    """The sites this person may refer at, with their names."""
    if _path(session) == "eap":
        return await services(request, session).every_site()
    return [{"site_id": s, "display_name": s} for s in session.sites]


class ReferForm(CaseForm):
    key: str = ""  # drawn with the form: sending it twice suggests support once
    site_id: str = ""
    consented: str = ""
    consent_method: str = ""


async def _page(
    request: Request, session: Session, *, values: Any = None, problem: str | None = None, **context: Any
) -> HTMLResponse:
    return render(
        request,
        "refer.html",
        section="refer",
        eap=_path(session) == "eap",
        sites=await _sites(request, session),
        consent_methods=CONSENT,
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
    return await _page(request, session, done=done if done in DONE else None, program_contact=contact)


@router.post("/refer", response_model=None)
async def refer(request: Request, session: SignedIn, form: Annotated[ReferForm, Form()]) -> Response:
    check_form(session, form.form_token)
    path = _path(session)
    sites = [s["site_id"] for s in await _sites(request, session)]
    t = translator(request)
    values = form.model_dump()
    category, _, kind = form.reason.partition(":")
    email, phone = form.email.strip(), form.phone.strip()
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
            # a manager's worker is asked privately, by e-mail: without it nobody can ask them;
            # an EAP referral is contacted directly, by phone or e-mail
            ("email", EMAIL.fullmatch(email) is not None)
            if path == "manager"
            else ("contact", bool(email or phone)),
            ("email_form", path == "manager" or not email or EMAIL.fullmatch(email) is not None),
            ("phone", not phone or PHONE.fullmatch(phone) is not None),
            ("consent", path != "eap" or (form.consented == "yes" and form.consent_method in CONSENT)),
            ("staff_id", not staff_id or _staff_ref_ok(staff_id)),
        )
        if not ok
    ]
    if problems:
        return await _page(request, session, values=values, problem=" ".join(dict.fromkeys(problems)))
    worker: dict[str, Any] = {"name": form.name.strip()}
    if email:
        worker["email"] = email
    if phone:
        worker["phone"] = phone
    if staff_id:
        worker["staff_ref"] = staff_id
    body = {
        "site_id": form.site_id,
        "reason": {"category": category, "kind": kind},
        "urgency": form.urgency,
        "modality": form.modality if form.modality in {m.value for m in Modality} else "either",
        "worker": worker,
    }
    if path == "eap":
        body["consent"] = {"method": form.consent_method, "given_at": datetime.now(UTC).isoformat()}
    calls = services(request, session)
    key = form.key or secrets.token_urlsafe(16)
    try:
        answer = await (calls.refer_for_eap(body, key) if path == "eap" else calls.suggest_support(body, key))
    except Refused as exc:
        if exc.status in (401, 403):
            raise
        problem = t("help.refused", message=said(t, exc.message))
        return await _page(request, session, values=values, problem=problem)
    if answer.get("case_created"):
        done = "received" if path == "eap" else "offered"
    elif category == "hr_matter":
        done = "elsewhere"  # handled by the people the site names: nothing was stored
    else:
        done = "not_offered"
    return RedirectResponse(f"/refer?{urlencode({'done': done, 'site': form.site_id})}", status_code=303)
