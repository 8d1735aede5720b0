"""What every page shares: the signed-in session, the caller's language, the forms' tokens,
rendering, and how times read."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from contracts.time_text import time_text, zone_of
from contracts.types import StaffRef
from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import TypeAdapter

from frontend.gateway import PlatformServices, as_time
from frontend.i18n import COOKIE as LANGUAGE_COOKIE
from frontend.i18n import LANGUAGES, Translator, negotiate
from frontend.session import COOKIE, Session

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


# the queue's own refresh says so: it keeps nobody's session alive
AUTOMATIC = "x-pss-automatic"


def idle_seconds(request: Request) -> float:
    return float(request.app.state.settings.idle_minutes) * 60


def current_session(request: Request) -> Session:
    session = request.app.state.sealer.open_session(request.cookies.get(COOKIE), idle_seconds(request))
    if session is None:
        raise SignInNeeded
    if AUTOMATIC not in request.headers:
        request.state.seen = session  # the response carries the session seen now (bootstrap)
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


def hand_over_once(
    request: Request, response: Response, cookie: str, value: dict[str, Any], seconds: int
) -> None:
    """Something shown once after a redirect (a revealed contact, a new secret address): a
    sealed, short-lived, same-site cookie the next page reads and deletes."""
    response.set_cookie(
        cookie,
        request.app.state.sealer.seal(value),
        max_age=seconds,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.public_base_url.startswith("https://"),
        path="/",
    )


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    t = translator(request)
    session = request.app.state.sealer.open_session(request.cookies.get(COOKIE), idle_seconds(request))
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
            # seconds until the session ends, for the page to say so at once when it does
            "session_left": int(session.ends_at(idle_seconds(request)) - time.time()) if session else 0,
            # in the site's zone where the row carries it, else the authority's
            "when": lambda value, site_zone=None: local_text(
                value, zone_of(site_zone, str(zone)), t.language
            ),
            # the time of day alone, for "since 03:12 EST"
            "at": lambda value, site_zone=None: local_text(
                value, zone_of(site_zone, str(zone)), t.language, date=False
            ),
            "waited": lambda value: waited_text(t, value),
            "clock_text": lambda clock: clock_text(t, clock),
            "short": lambda value: str(value)[:8],
            **context,
        },
        status_code=status_code,
    )
    # pages carry case details: never kept by the browser or a proxy
    response.headers["Cache-Control"] = "no-store"
    return response


def as_moment(value: Any) -> datetime | None:
    return None if value is None or value == "" else as_time(value)


def local_text(value: Any, zone: ZoneInfo, language: str = "en", *, date: bool = True) -> str:
    """A moment as the reader says it: their language, the zone's abbreviation."""
    moment = as_moment(value)
    return time_text(moment, zone, language, date=date) if moment else ""


def waited_text(t: Translator, value: Any) -> str:
    moment = as_moment(value)
    if moment is None:
        return ""
    minutes = max(0, int((datetime.now(UTC) - moment).total_seconds() // 60))
    if minutes >= 48 * 60:
        return t("time.days_ago", days=minutes // (24 * 60))
    if minutes >= 60:
        return t("time.hours_ago", hours=minutes // 60, minutes=minutes % 60)
    return t("time.minutes_ago", minutes=minutes)


def clock_text(t: Translator, clock: Any) -> str:
    if clock.state != "running":
        return t(f"clock.{clock.state}")
    left = clock.seconds_left(datetime.now(UTC))
    if left < 0:
        return t("clock.overdue", minutes=-left // 60)
    minutes = left // 60
    if minutes >= 60:
        return t("clock.left_hours", hours=minutes // 60, minutes=minutes % 60)
    return t("clock.left", minutes=minutes)
