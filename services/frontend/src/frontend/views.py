"""The coordinator's pages: the queue, a case, the roster, the schedule, the metrics.

Every page is for one site, named in its address. The front-end shows a site's pages
only to someone whose sign-in lists that site, and every service checks again with the
user's own token: a coordinator of another site gets "not found", by link or by form.
Nothing is kept: each page is drawn from the services' answers and sent with no-store.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from contracts.types import DutyLayer, OverrideReason, SiteId, StaffRef
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError

from frontend import charts
from frontend.gateway import PlatformServices, Refused, as_time
from frontend.i18n import COOKIE as LANGUAGE_COOKIE
from frontend.i18n import LANGUAGES, Translator, negotiate
from frontend.queue import build_queue
from frontend.session import COOKIE, SIGNIN_COOKIE, SIGNIN_SECONDS, Session
from frontend.signin import Provider, SignInFailed, safe_return_path

router = APIRouter()

# why a coordinator reads a worker's contact: a code, as intake records it
PURPOSES = ("call_back", "arrange_meeting", "safety_check")
_STAFF_REF = TypeAdapter(StaffRef)


class SignInNeeded(Exception):
    """No valid session: the user is sent to sign in, and back here after."""


class PageNotFound(Exception):
    """Not a page of a site this user acts for (or no such case)."""


class FormExpired(Exception):
    """A form came back without this session's form token (another site's page, or forged)."""


def translator(request: Request) -> Translator:
    return Translator(negotiate(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")))


def current_session(request: Request) -> Session:
    session = request.app.state.sealer.open_session(request.cookies.get(COOKIE))
    if session is None:
        raise SignInNeeded
    return session


SignedIn = Annotated[Session, Depends(current_session)]


def services(request: Request, session: Session) -> PlatformServices:
    return PlatformServices(request.app.state.http, request.app.state.settings, session.access_token)


def for_site(site_id: str, session: Session) -> None:
    if not session.acts_for(site_id):
        raise PageNotFound


def check_form(session: Session, form_token: str) -> None:
    if not secrets.compare_digest(form_token, session.form_token):
        raise FormExpired


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    t = translator(request)
    session = request.app.state.sealer.open_session(request.cookies.get(COOKIE))
    zone = ZoneInfo(request.app.state.settings.display_time_zone)
    response = request.app.state.templates.TemplateResponse(
        request,
        template,
        {
            "t": t,
            "lang": t.language,
            "languages": LANGUAGES,
            "session": session,
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "when": lambda value: _local(value, zone),
            "waited": lambda value: _waited(t, value),
            "clock_text": lambda clock: _clock_text(t, clock),
            "short": lambda value: str(value)[:8],
            **context,
        },
        status_code=status_code,
    )
    # pages carry case details: never kept by the browser or a proxy
    response.headers["Cache-Control"] = "no-store"
    return response


def _time(value: Any) -> datetime | None:
    return None if value is None or value == "" else as_time(value)


def _local(value: Any, zone: ZoneInfo) -> str:
    moment = _time(value)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def _waited(t: Translator, value: Any) -> str:
    moment = _time(value)
    if moment is None:
        return ""
    minutes = max(0, int((datetime.now(UTC) - moment).total_seconds() // 60))
    if minutes >= 48 * 60:
        return t("time.days_ago", days=minutes // (24 * 60))
    if minutes >= 60:
        return t("time.hours_ago", hours=minutes // 60, minutes=minutes % 60)
    return t("time.minutes_ago", minutes=minutes)


def _clock_text(t: Translator, clock: Any) -> str:
    if clock.state != "running":
        return t(f"clock.{clock.state}")
    left = clock.seconds_left(datetime.now(UTC))
    if left < 0:
        return t("clock.overdue", minutes=-left // 60)
    minutes = left // 60
    if minutes >= 60:
        return t("clock.left_hours", hours=minutes // 60, minutes=minutes % 60)
    return t("clock.left", minutes=minutes)


# --- signing in and out ------------------------------------------------------------------


def _provider(request: Request) -> Provider:
    return request.app.state.provider  # type: ignore[no-any-return]


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.public_base_url.startswith("https://"))


@router.get("/signin")
async def sign_in(request: Request, next: str = "/") -> RedirectResponse:
    started = await _provider(request).start(request.app.state.http, next)
    response = RedirectResponse(started.redirect_to, 303)
    response.set_cookie(
        SIGNIN_COOKIE,
        request.app.state.sealer.seal(started.pending),
        max_age=SIGNIN_SECONDS,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/signin",
    )
    return response


@router.get("/signin/callback", response_model=None)
async def sign_in_callback(
    request: Request, code: str = "", state: str = "", error: str = ""
) -> RedirectResponse | HTMLResponse:
    pending = request.app.state.sealer.open(request.cookies.get(SIGNIN_COOKIE), max_age=SIGNIN_SECONDS)
    try:
        if error or not code:
            raise SignInFailed(error or "the sign-in provider sent no code")
        session = await _provider(request).finish(request.app.state.http, code, state, pending)
    except SignInFailed as exc:
        return render(request, "signed_out.html", status_code=400, failure=str(exc))
    hours = request.app.state.settings.session_hours
    response = RedirectResponse(safe_return_path(str((pending or {}).get("return_to", "/"))), 303)
    sealed = request.app.state.sealer.seal_session(
        Session(**{**session.__dict__, "expires_at": min(session.expires_at, _now() + hours * 3600)})
    )
    response.set_cookie(COOKIE, sealed, httponly=True, samesite="lax", secure=_secure(request), path="/")
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


def _now() -> float:
    return datetime.now(UTC).timestamp()


@router.post("/signout")
async def sign_out(
    request: Request, session: SignedIn, form_token: Annotated[str, Form()]
) -> RedirectResponse:
    check_form(session, form_token)
    back = f"{request.app.state.settings.public_base_url}/signed-out"
    target = await _provider(request).sign_out_url(request.app.state.http, back) or "/signed-out"
    response = RedirectResponse(target, 303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/signed-out", response_class=HTMLResponse)
async def signed_out(request: Request) -> HTMLResponse:
    return render(request, "signed_out.html", failure=None)


@router.get("/language/{language}")
async def choose_language(language: str, next: str = "/") -> RedirectResponse:
    response = RedirectResponse(safe_return_path(next), 303)
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


@router.get("/", response_model=None)
async def home(request: Request, session: SignedIn) -> RedirectResponse | HTMLResponse:
    if session.may_coordinate and len(session.sites) == 1:
        return RedirectResponse(f"/sites/{session.sites[0]}/queue", 303)
    return render(request, "home.html", sites=session.sites if session.may_coordinate else [])


# --- the queue ---------------------------------------------------------------------------


async def _queue(request: Request, site_id: str, session: Session) -> list[Any]:
    calls = services(request, session)
    referrals, episodes = await asyncio.gather(calls.open_referrals(site_id), calls.episodes(site_id))
    return build_queue(referrals, episodes, datetime.now(UTC))


@router.get("/sites/{site_id}/queue", response_class=HTMLResponse)
async def queue(site_id: SiteId, request: Request, session: SignedIn) -> HTMLResponse:
    for_site(site_id, session)
    rows = await _queue(request, site_id, session)
    refresh = request.app.state.settings.queue_refresh_seconds
    return render(request, "queue.html", site=site_id, rows=rows, refresh_seconds=refresh, section="queue")


@router.get("/sites/{site_id}/queue/rows", response_class=HTMLResponse)
async def queue_rows(site_id: SiteId, request: Request, session: SignedIn) -> HTMLResponse:
    """The rows alone, for the page to refresh itself."""
    for_site(site_id, session)
    return render(request, "_queue_rows.html", site=site_id, rows=await _queue(request, site_id, session))


# --- a case ------------------------------------------------------------------------------


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


# --- roster --------------------------------------------------------------------------


@router.get("/sites/{site_id}/roster", response_class=HTMLResponse)
async def roster(site_id: SiteId, request: Request, session: SignedIn) -> HTMLResponse:
    for_site(site_id, session)
    calls = services(request, session)
    training, matching = await asyncio.gather(calls.training_roster(site_id), calls.matching_roster(site_id))
    seen = {s["staff_ref"]: s for s in matching["supporters"]}
    now = datetime.now(UTC)
    people = []
    for record in training:
        expiry = record.get("next_expiry")
        days = None
        if expiry:
            days = int((as_time(expiry["expires_at"]) - now).total_seconds() // 86400)
        people.append({**record, "matching": seen.get(record["staff_ref"], {}), "expiry_days": days})
    return render(request, "roster.html", site=site_id, section="roster", people=people)


# --- schedule ----------------------------------------------------------------------------


def _site_zone(calendar: dict[str, Any] | None, request: Request) -> ZoneInfo:
    return ZoneInfo(calendar["time_zone"] if calendar else request.app.state.settings.display_time_zone)


@router.get("/sites/{site_id}/schedule", response_class=HTMLResponse)
async def schedule(
    site_id: SiteId,
    request: Request,
    session: SignedIn,
    start: Annotated[date | None, Query()] = None,
    done: str = "",
    problem: str = "",
) -> HTMLResponse:
    for_site(site_id, session)
    calls = services(request, session)
    zone = await _zone_of(request, site_id, session)
    first_day = start or datetime.now(zone).date()  # the site's today, not UTC's
    begin = datetime.combine(first_day, datetime.min.time(), zone)
    calendar = await calls.schedule(site_id, begin.isoformat(), (begin + timedelta(days=7)).isoformat())
    days = charts.calendar_days(calendar, begin, zone) if calendar else []
    t = translator(request)
    return render(
        request,
        "schedule.html",
        site=site_id,
        section="schedule",
        calendar=calendar,
        days=days,
        zone=str(zone),
        first_day=first_day,
        previous_day=first_day - timedelta(days=7),
        next_day=first_day + timedelta(days=7),
        gaps=charts.local_segments(calendar["gaps"], zone) if calendar else [],
        overrides=charts.local_segments(calendar["overrides"], zone) if calendar else [],
        layers=[layer.value for layer in DutyLayer],
        notice=t(f"schedule.{done}.done") if done in ("override", "swap") else None,
        removed=done == "removed",
        problem=problem or None,
    )


def _aware(local: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(local).replace(tzinfo=zone).isoformat()


async def _schedule_change(request: Request, site_id: str, change: Any, done: str) -> RedirectResponse:
    t = translator(request)
    try:
        await change
    except Refused as exc:
        if exc.status in (401, 403, 404) and "no schedule" not in exc.message:
            raise
        query = urlencode({"problem": t("form.error", message=exc.message)})
        return RedirectResponse(f"/sites/{site_id}/schedule?{query}", 303)
    return RedirectResponse(f"/sites/{site_id}/schedule?done={done}", 303)


async def _zone_of(request: Request, site_id: str, session: Session) -> ZoneInfo:
    now = datetime.now(UTC)
    found = await services(request, session).schedule(
        site_id, now.isoformat(), (now + timedelta(hours=1)).isoformat()
    )
    return _site_zone(found, request)


def _bad_form(site_id: str, t: Translator, what: str) -> RedirectResponse:
    query = urlencode({"problem": t("form.error", message=what)})
    return RedirectResponse(f"/sites/{site_id}/schedule?{query}", 303)


@router.post("/sites/{site_id}/schedule/overrides")
async def add_override(
    site_id: SiteId,
    request: Request,
    session: SignedIn,
    form_token: Annotated[str, Form()],
    layer: Annotated[str, Form()],
    supporter: Annotated[str, Form()],
    starts: Annotated[str, Form()],
    ends: Annotated[str, Form()],
) -> RedirectResponse:
    for_site(site_id, session)
    check_form(session, form_token)
    zone = await _zone_of(request, site_id, session)
    try:
        body = {
            "layer": DutyLayer(layer).value,
            "supporter": _STAFF_REF.validate_python(supporter.strip()),
            "starts_at": _aware(starts, zone),
            "ends_at": _aware(ends, zone),
        }
    except (ValueError, ValidationError):
        return _bad_form(site_id, translator(request), f"{layer}, {supporter!r}, {starts!r}, {ends!r}")
    return await _schedule_change(
        request, site_id, services(request, session).add_override(site_id, body), "override"
    )


@router.post("/sites/{site_id}/schedule/overrides/{override_id}/remove")
async def remove_override(
    site_id: SiteId,
    override_id: int,
    request: Request,
    session: SignedIn,
    form_token: Annotated[str, Form()],
) -> RedirectResponse:
    for_site(site_id, session)
    check_form(session, form_token)
    return await _schedule_change(
        request, site_id, services(request, session).remove_override(site_id, override_id), "removed"
    )


@router.post("/sites/{site_id}/schedule/swaps")
async def swap(
    site_id: SiteId,
    request: Request,
    session: SignedIn,
    form_token: Annotated[str, Form()],
    layer: Annotated[str, Form()],
    first: Annotated[str, Form()],
    second: Annotated[str, Form()],
) -> RedirectResponse:
    for_site(site_id, session)
    check_form(session, form_token)
    zone = await _zone_of(request, site_id, session)
    try:
        body = {"layer": DutyLayer(layer).value, "first": _aware(first, zone), "second": _aware(second, zone)}
    except ValueError:
        return _bad_form(site_id, translator(request), f"{layer}, {first!r}, {second!r}")
    return await _schedule_change(request, site_id, services(request, session).swap(site_id, body), "swap")


# --- metrics -----------------------------------------------------------------------------

PERIOD = r"^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$"


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
            problem = exc.message
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
