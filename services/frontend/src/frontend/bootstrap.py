"""Wires the front-end: settings, the sign-in provider, the HTTP client to the services,
templates and the error pages. Nothing connects until the app starts."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from servicekit.request_spans import NO_NATIVE_TELEMETRY, RequestSpans
from servicekit.settings import KEEP_ALIVE_SECONDS
from starlette.exceptions import HTTPException as StarletteHTTPException

from frontend import views, web
from frontend.gateway import Refused, Unavailable
from frontend.refusals import said
from frontend.session import Sealer
from frontend.settings import FrontendSettings
from frontend.signin import Provider, SignInFailed

HERE = Path(__file__).parent


# an idle connection to a service is let go before the service closes it: reused as the
# service closed it, it failed the request with no answer, and a case page showed "service
# unavailable" (CI, 2026-12-01: five seconds idle on both sides)
CONNECTIONS = httpx.Limits(
    # httpx's own bounds, which a Limits given without them would lift
    max_connections=100,
    max_keepalive_connections=20,
    keepalive_expiry=KEEP_ALIVE_SECONDS / 2,
)


def build(settings: FrontendSettings | None = None) -> FastAPI:
    settings = settings or FrontendSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=settings.service_timeout_seconds, limits=CONNECTIONS) as http:
            app.state.http = http
            yield

    app = FastAPI(
        title="frontend",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        telemetry=NO_NATIVE_TELEMETRY,
    )
    app.state.settings = settings
    app.state.sealer = Sealer(settings.session_key)
    app.state.provider = Provider(
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret,
        f"{settings.public_base_url}/signin/callback",
    )
    app.state.templates = Jinja2Templates(directory=HERE / "templates")  # autoescapes HTML
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(views.router)
    _error_pages(app)

    @app.middleware("http")
    async def keep_seen_sessions(request: Request, call_next: Any) -> Response:
        """A request someone made moves their session's idle clock on."""
        response: Response = await call_next(request)
        seen = getattr(request.state, "seen", None)
        answered = response.headers.getlist("set-cookie")
        if seen is not None and not any(c.startswith(f"{web.COOKIE}=") for c in answered):
            sealed = app.state.sealer.seal_session(replace(seen, last_seen=time.time()))
            secure = settings.public_base_url.startswith("https://")
            response.set_cookie(web.COOKIE, sealed, httponly=True, samesite="lax", secure=secure, path="/")
        return response

    @app.get("/health/live", include_in_schema=False)
    @app.get("/health/ready", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    # outermost, added last: the span covers the session's middleware too
    # a worker's private link is its own key to their case: no span even by its template
    app.add_middleware(RequestSpans, excluded=("/health/", "/static/", "/my-case/k/"))
    return app


def _error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return web.render(request, "error.html", status_code=status_code, message=message)


def _error_pages(app: FastAPI) -> None:
    """Errors a person can act on, in their language; a 404 for anything of another site."""

    @app.exception_handler(web.SignInNeeded)
    async def sign_in_needed(request: Request, _exc: Exception) -> Response:
        if web.AUTOMATIC in request.headers:
            return Response(status_code=401)  # the page's own refresh: it says so itself
        back = request.url.path if request.method == "GET" else "/"
        if request.url.path.endswith("/queue/rows"):
            back = back.removesuffix("/rows")
        return RedirectResponse(f"/signin?next={back}", 303)

    @app.exception_handler(web.PageNotFound)
    async def not_found(request: Request, _exc: Exception) -> Response:
        return _error_page(request, 404, web.translator(request)("error.not_found"))

    @app.exception_handler(web.FormExpired)
    async def form_expired(request: Request, _exc: Exception) -> Response:
        return _error_page(request, 403, web.translator(request)("error.form_token"))

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        t = web.translator(request)
        if exc.status == 401:  # the token expired or was revoked: sign in again
            return RedirectResponse("/signin?next=/", 303)
        if exc.status in (403, 404):
            return _error_page(request, 404, t("error.not_found"))
        return _error_page(request, exc.status, said(t, exc.message))

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Unavailable)
        return _error_page(request, 503, web.translator(request)("error.unavailable", service=exc.service))

    @app.exception_handler(SignInFailed)
    async def sign_in_failed(request: Request, exc: Exception) -> Response:
        return web.render(request, "signed_out.html", status_code=400, failure=str(exc))

    @app.exception_handler(httpx.HTTPError)
    async def provider_unreachable(request: Request, _exc: Exception) -> Response:
        return _error_page(request, 503, web.translator(request)("error.unavailable", service="sign-in"))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if any(e["loc"] and e["loc"][0] == "path" for e in exc.errors()):
            return _error_page(request, 404, web.translator(request)("error.not_found"))
        fields = ", ".join(".".join(str(p) for p in e["loc"][1:]) or "request" for e in exc.errors())
        return _error_page(request, 422, web.translator(request)("form.error", message=fields))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return _error_page(request, 404, web.translator(request)("error.not_found"))
        return _error_page(request, exc.status_code, str(exc.detail))
