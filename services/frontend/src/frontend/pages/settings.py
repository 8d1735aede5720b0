"""A supporter's own settings, on one page they can reach at 3 a.m. from a phone: step away
or come back, how pages reach them, their training standing (what is current, what expires,
what is missing) and the debriefs offered after a case. Every POST redirects."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Annotated, Any

from contracts.types import PHONE_PATTERN
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from frontend.gateway import PlatformServices, Refused, Unavailable
from frontend.pages.ask import EMAIL
from frontend.pages.calendar import SHOWN, shown_address
from frontend.session import Session
from frontend.web import PageNotFound, SignedIn, check_form, render, services, translator

router = APIRouter()

DONE = ("away", "back", "routes", "debriefed", "not_needed", "calendar", "calendar_stopped")
CHANNELS = ("email", "sms", "voice", "webhook")
ROUTES_SHOWN = 3
# enough to catch a slip of the thumb (the e-mail check is the ways in's); oncall checks
# each address properly
_URL = re.compile(r"https?://\S{3,}")
_PHONE = re.compile(PHONE_PATTERN)  # oncall's own pattern
_PATTERN = {"email": EMAIL, "sms": _PHONE, "voice": _PHONE, "webhook": _URL}
PHONES = ("sms", "voice")


def _me(session: Session) -> str:
    if not session.staff_ref:
        raise PageNotFound  # an account with no staff reference has no settings here
    return session.staff_ref


async def _optional(call: Any, default: Any) -> Any:
    """A part of the page whose service refuses or is away shows as unavailable, not a 500."""
    try:
        return await call
    except (Refused, Unavailable):
        return default


async def _page(
    request: Request,
    session: Session,
    *,
    notice: str | None = None,
    problem: str | None = None,
    routes: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    me = _me(session)
    calls: PlatformServices = services(request, session)
    availability, stored, standing, courses, prompts = await asyncio.gather(
        _optional(calls.my_availability(), None),
        _optional(calls.my_routes(), []),
        _optional(calls.standing(me), None),
        _optional(calls.courses(), []),
        _optional(calls.my_debrief_prompts(), []),
    )
    t = translator(request)
    titles = {c["code"]: c["title"] for c in courses}

    def course_name(code: str) -> str:
        # the default catalogue's courses have words in both languages; an authority's own
        # courses show the title it gave them
        return t.label("course", code) if t.has(f"course.{code}") else titles.get(code, code)

    shown = list(routes if routes is not None else stored)
    shown += [{"channel": "email", "address": ""}] * (ROUTES_SHOWN - len(shown))
    return render(
        request,
        "settings.html",
        section="settings",
        availability=availability,
        routes=shown[:ROUTES_SHOWN],
        channels=CHANNELS,
        standing=standing,
        course_name=course_name,
        prompts=[p for p in prompts if p.get("answered_at") is None],
        notice=notice,
        problem=problem,
        status_code=status_code,
        address=shown_address(request, session, "mine"),
        calendar_action="/me/calendar",
    )


@router.get("/me/settings", response_class=HTMLResponse)
async def settings_page(request: Request, session: SignedIn, done: str = "") -> HTMLResponse:
    t = translator(request)
    response = await _page(request, session, notice=t(f"settings.done.{done}") if done in DONE else None)
    response.delete_cookie(SHOWN, path="/")  # a calendar address is shown once
    return response


@router.post("/me/availability", response_model=None)
async def set_availability(
    request: Request,
    session: SignedIn,
    form_token: Annotated[str, Form()],
    available: Annotated[str, Form()],
) -> RedirectResponse:
    check_form(session, form_token)
    _me(session)
    await services(request, session).set_availability(available == "yes")
    return RedirectResponse(f"/me/settings?done={'back' if available == 'yes' else 'away'}", status_code=303)


@router.post("/me/contact-routes", response_model=None)
async def set_routes(request: Request, session: SignedIn) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_form(session, str(form.get("form_token", "")))
    _me(session)
    t = translator(request)
    entered = [
        {
            "channel": str(form.get(f"channel_{i}", "email")),
            "address": str(form.get(f"address_{i}", "")).strip(),
        }
        for i in range(ROUTES_SHOWN)
    ]
    routes = [r for r in entered if r["address"]]
    for r in routes:
        if r["channel"] in PHONES:
            r["address"] = r["address"].replace(" ", "")  # +1 555 010 0199 as typed on a phone
    problem = None
    if not routes:
        problem = t("settings.routes.none")
    elif any(r["channel"] not in CHANNELS for r in routes):
        problem = t("settings.routes.bad_channel")
    elif bad := [
        i + 1
        for i, r in enumerate(routes)
        if not _PATTERN[r["channel"]].fullmatch(r["address"]) or len(r["address"]) > 500
    ]:
        problem = t("settings.routes.bad_address", n=", ".join(map(str, bad)))
    if problem is None:
        try:
            await services(request, session).set_routes(routes)
        except Refused as exc:
            # oncall's own check (a webhook the authority does not allow, an address it
            # cannot use): said in the reader's language, the form kept as typed
            problem = t("settings.routes.refused") if exc.status == 422 else t("settings.unavailable")
    if problem is not None:
        return await _page(request, session, problem=problem, routes=entered, status_code=422)
    return RedirectResponse("/me/settings?done=routes", status_code=303)


@router.post("/me/debrief-prompts/{prompt_id}", response_model=None)
async def answer_prompt(
    prompt_id: uuid.UUID,
    request: Request,
    session: SignedIn,
    form_token: Annotated[str, Form()],
    outcome: Annotated[str, Form()],
) -> HTMLResponse | RedirectResponse:
    check_form(session, form_token)
    _me(session)
    if outcome not in ("debriefed", "not_needed"):
        raise PageNotFound
    try:
        await services(request, session).answer_debrief_prompt(prompt_id, outcome)
    except Refused as exc:
        if exc.status == 404:
            raise PageNotFound from None
        # answered already (another tab): the page shows where things stand
        return RedirectResponse("/me/settings", status_code=303)
    return RedirectResponse(f"/me/settings?done={outcome}", status_code=303)
