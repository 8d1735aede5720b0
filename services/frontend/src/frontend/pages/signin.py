"""Signing in and out (OpenID Connect), the language, the home page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from frontend.i18n import COOKIE as LANGUAGE_COOKIE
from frontend.i18n import LANGUAGES
from frontend.session import COOKIE, SIGNIN_COOKIE, SIGNIN_SECONDS, Session
from frontend.signin import Provider, SignInFailed, safe_return_path
from frontend.web import SignedIn, check_form, render

router = APIRouter()


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
    if not session.may_coordinate and session.staff_ref and "peer_supporter" in session.roles:
        return RedirectResponse("/me", 303)  # a supporter: the pages waiting for them
    if not session.may_coordinate and (
        ("manager" in session.roles and session.sites) or "occupational_health" in session.roles
    ):
        return RedirectResponse("/refer", 303)  # a manager or EAP: refer a worker
    return render(request, "home.html", sites=session.sites if session.may_coordinate else [])
