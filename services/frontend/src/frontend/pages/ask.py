"""The worker's own pages, with no account: "Ask for peer support" for a site, and their
case by its private key (status; accept, decline or withdraw). Plain HTML forms that work
on a phone and without JavaScript; every POST redirects, so a reload re-sends nothing.

The form carries a sealed token (its site, when it was drawn, a random key): a form from
nowhere is refused, and the key is the request's Idempotency-Key, so sending the same form
twice makes one case. What a worker typed is sent to intake and never shown to anyone else;
the pages show only what the worker chose from lists, their own case's status and the site's
published resources."""

from __future__ import annotations

import re
import secrets
import time
from collections import deque
from typing import Annotated, Any

from contracts.types import REASON_KINDS, Modality, ReasonCategory, SiteId, StaffRef, Urgency
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from frontend.gateway import PlatformServices, Refused
from frontend.refusals import said
from frontend.web import PageNotFound, render, translator

router = APIRouter()

FORM_SECONDS = 2 * 3600  # a form left open longer is drawn again (nothing is lost: it says so)
CASE_COOKIE = "pss_case"  # the sealed key to the worker's case, for this browser only
CASE_COOKIE_SECONDS = 3600
HR_KINDS = ("job_action", "performance", "discipline")
# a burst from one address is refused at the door (per replica: intake's own checks stay)
# (generous: a hospital's workers may share one address behind its gateway)
REQUESTS_PER_WINDOW, WINDOW_SECONDS = 20, 600
ADDRESSES_KEPT = 10_000  # past this many addresses, those quiet for a window are forgotten


PHONE = re.compile(r"\+?[0-9 ()-]{7,20}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_STAFF_REF = TypeAdapter(StaffRef)


def _staff_ref_ok(value: str) -> bool:
    try:
        _STAFF_REF.validate_python(value)
    except ValidationError:
        return False
    return True


class _Burst:
    def __init__(self) -> None:
        self._seen: dict[str, deque[float]] = {}

    def allow(self, who: str, now: float) -> bool:
        if len(self._seen) > ADDRESSES_KEPT:
            # a flood of addresses must not grow this without end
            self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] <= WINDOW_SECONDS}
        times = self._seen.setdefault(who, deque())
        while times and now - times[0] > WINDOW_SECONDS:
            times.popleft()
        if len(times) >= REQUESTS_PER_WINDOW:
            return False
        times.append(now)
        return True


BURST = _Burst()


def _public(request: Request) -> PlatformServices:
    return PlatformServices(request.app.state.http, request.app.state.settings, "")


def reasons() -> list[tuple[str, list[str]]]:
    """The taxonomy as the form lists it: each category with its kinds, then HR matters."""
    listed = [(c.value, sorted(k.value for k in REASON_KINDS[c])) for c in ReasonCategory]
    return [*listed, ("hr_matter", list(HR_KINDS))]


async def _site(request: Request, site_id: str) -> dict[str, Any]:
    try:
        return await _public(request).site_resources(site_id)
    except Refused as exc:
        if exc.status == 404:
            raise PageNotFound from None
        raise


def _form(
    request: Request,
    site: dict[str, Any],
    *,
    problem: str | None = None,
    values: Any = None,
    colleague: bool = False,
) -> Any:
    token = request.app.state.sealer.seal(
        {"site": site["site_id"], "key": secrets.token_urlsafe(16), "at": time.time(), "colleague": colleague}
    )
    return render(
        request,
        "help.html",
        public=True,
        status_code=422 if problem else 200,
        site_info=site,
        reasons=reasons(),
        urgencies=[u.value for u in Urgency],
        modalities=[m.value for m in Modality],
        form_token=token,
        problem=problem,
        # drawn again after a problem with what this person typed, for them alone (the page
        # is never cached), so nothing has to be typed twice at 3 a.m.
        values=values or {},
        colleague=colleague,
    )


class CaseForm(BaseModel):
    """What a way in's form sends; every field may be missing or wrong, and is said so in
    words (a model's own refusal would be JSON)."""

    form_token: str = ""
    reason: str = ""
    urgency: str = ""
    modality: str = "either"
    name: str = Field(default="", max_length=120)
    phone: str = Field(default="", max_length=30)
    email: str = Field(default="", max_length=254)
    staff_id: str = Field(default="", max_length=40)


class AskForm(CaseForm):
    danger: str = ""


@router.get("/help/{site_id}", response_class=HTMLResponse)
async def ask_form(site_id: SiteId, request: Request) -> HTMLResponse:
    return _form(request, await _site(request, site_id))  # type: ignore[no-any-return]


@router.get("/help/{site_id}/colleague", response_class=HTMLResponse)
async def colleague_form(site_id: SiteId, request: Request) -> HTMLResponse:
    """A worker worried about a colleague: support for them in helping, and nobody reaches
    out to the colleague without their consent."""
    return _form(request, await _site(request, site_id), colleague=True)  # type: ignore[no-any-return]


@router.post("/help/{site_id}", response_model=None)
async def ask(site_id: SiteId, request: Request, form: Annotated[AskForm, Form()]) -> Response:
    return await _send(request, site_id, form, colleague=False)


@router.post("/help/{site_id}/colleague", response_model=None)
async def ask_about_a_colleague(
    site_id: SiteId, request: Request, form: Annotated[AskForm, Form()]
) -> Response:
    return await _send(request, site_id, form, colleague=True)


async def _send(request: Request, site_id: str, form: AskForm, *, colleague: bool) -> Response:
    t = translator(request)
    site = await _site(request, site_id)
    sealed = request.app.state.sealer.open(form.form_token, max_age=FORM_SECONDS)
    danger, reason, urgency, modality = form.danger, form.reason, form.urgency, form.modality
    name, phone, email, staff_id = form.name, form.phone, form.email, form.staff_id
    values = {
        "danger": danger,
        "reason": reason,
        "urgency": urgency,
        "modality": modality,
        "name": name,
        "phone": phone,
        "email": email,
        "staff_id": staff_id,
    }

    def again(problem: str) -> Any:
        return _form(request, site, problem=problem, values=values, colleague=colleague)

    if sealed is None or sealed.get("site") != site_id or bool(sealed.get("colleague")) != colleague:
        return again(t("help.form_expired"))  # type: ignore[no-any-return]
    client = request.client.host if request.client else "unknown"
    if not BURST.allow(client, time.monotonic()):
        page = again(t("help.too_many"))
        page.status_code = 429
        page.headers["Retry-After"] = str(WINDOW_SECONDS)
        return page  # type: ignore[no-any-return]
    category, _, kind = reason.partition(":")
    # the directory's reference is "st-" and the number on the worker's badge
    staff_id = staff_id.strip().lower()
    if staff_id and not staff_id.startswith("st-"):
        staff_id = f"st-{staff_id}"
    problems = [
        t(f"help.missing.{field}")
        for field, ok in (
            # a colleague's concern has no danger question: its page shows the crisis lines first
            ("danger", colleague or danger in ("yes", "no")),
            ("reason", (category, kind) in {(c, k) for c, ks in reasons() for k in ks}),
            ("urgency", urgency in {u.value for u in Urgency}),
            ("name", bool(name.strip())),
            ("contact", bool(phone.strip() or email.strip())),
            # intake checks these too, in English: said here first, in the worker's language
            ("phone", not phone.strip() or PHONE.fullmatch(phone.strip()) is not None),
            ("email", not email.strip() or EMAIL.fullmatch(email.strip()) is not None),
            ("staff_id", not staff_id.strip() or _staff_ref_ok(staff_id.strip())),
        )
        if not ok
    ]
    if problems:
        return again(" ".join(problems))  # type: ignore[no-any-return]
    worker: dict[str, Any] = {"name": name.strip()}
    if phone.strip():
        worker["phone"] = phone.strip()
    if email.strip():
        worker["email"] = email.strip()
    if staff_id.strip():
        worker["staff_ref"] = staff_id.strip()
    body: dict[str, Any] = {
        "site_id": site_id,
        "reason": {"category": category, "kind": kind},
        "urgency": urgency,
        "modality": modality if modality in {m.value for m in Modality} else "either",
    }
    if colleague:
        body["caller"] = worker
    else:
        body |= {"worker": worker, "imminent_risk": danger == "yes"}
    try:
        answer = await _public(request).ask_for_support(body, str(sealed["key"]), colleague=colleague)
    except Refused as exc:
        # intake's words name the field to correct; the form is drawn again with a new key
        return again(t("help.refused", message=said(t, exc.message)))  # type: ignore[no-any-return]
    if not answer.get("case_created"):
        # someone in danger who chose an HR matter still sees the crisis lines first
        crisis = site.get("crisis_resources", []) if danger == "yes" else []
        return render(
            request,
            "help_elsewhere.html",
            public=True,
            site_info=site,
            resources=answer.get("resources", []),
            crisis=crisis,
        )
    # in danger: the confirmation shows the site's crisis lines again, so the site goes along
    sent = f"crisis&site={site_id}" if danger == "yes" else "yes"
    response = RedirectResponse(f"/my-case?sent={sent}", status_code=303)
    _keep(request, response, str(answer["worker_token"]))
    return response


def _keep(request: Request, response: Response, worker_token: str) -> None:
    response.set_cookie(
        CASE_COOKIE,
        request.app.state.sealer.seal({"token": worker_token}),
        max_age=CASE_COOKIE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/my-case",
    )


def _kept(request: Request) -> str | None:
    sealed = request.app.state.sealer.open(request.cookies.get(CASE_COOKIE), max_age=CASE_COOKIE_SECONDS)
    return str(sealed["token"]) if sealed else None


@router.get("/my-case/k/{worker_token}", response_model=None)
async def open_by_link(worker_token: str, request: Request) -> Response:
    """The private link: the key goes into this browser's cookie and out of the address bar."""
    response = RedirectResponse("/my-case", status_code=303)
    response.headers["Referrer-Policy"] = "no-referrer"
    _keep(request, response, worker_token[:100])
    return response


@router.post("/my-case/open", response_model=None)
async def open_by_key(request: Request, key: Annotated[str, Form(max_length=100)] = "") -> Response:
    response = RedirectResponse("/my-case", status_code=303)
    _keep(request, response, key.strip())
    return response


@router.get("/my-case", response_class=HTMLResponse)
async def my_case(request: Request, sent: str = "", site: str = "") -> HTMLResponse:
    token = _kept(request)
    crisis: list[dict[str, Any]] = []
    if sent == "crisis" and site:
        try:
            crisis = (await _site(request, site)).get("crisis_resources", [])
        except (PageNotFound, Refused):
            crisis = []  # a site that is not there: the message still says 911 and 988
    case = None
    if token:
        try:
            case = await _public(request).my_case(token)
        except Refused:
            case = None  # a wrong or forgotten key: the page asks for it again, says no more
    link = f"{request.app.state.settings.public_base_url}/my-case/k/{token}" if case and sent else None
    page = render(
        request,
        "my_case.html",
        public=True,
        case=case,
        sent=sent,
        link=link,
        asked=bool(token),
        crisis=crisis,
    )
    page.headers["Referrer-Policy"] = "no-referrer"
    return page


@router.post("/my-case/{step}", response_model=None)
async def my_case_step(step: str, request: Request) -> Response:
    token = _kept(request)
    if step not in ("accept", "decline", "withdraw") or token is None:
        raise PageNotFound
    try:
        await _public(request).my_case(token, step)
    except Refused:
        pass  # already ended, or not offered any more: the page shows the case as it is
    return RedirectResponse(f"/my-case?done={step}", status_code=303)
