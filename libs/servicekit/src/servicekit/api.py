"""What every service's HTTP API shares: readable 4xx errors, health endpoints and the unit
of work a route opens."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from servicekit.consumer import is_outage
from servicekit.database import UnitOfWorkFactory


def unit_of_work(request: Request) -> UnitOfWorkFactory:
    """The service's way to open a unit of work (``build_service`` puts it on the app)."""
    return request.app.state.uow  # type: ignore[no-any-return]


@contextmanager
def refusals(statuses: Mapping[type[Exception], int]) -> Iterator[None]:
    """A handler's refusal, answered with the status given for its kind (the first kind it is
    an instance of) and its own message; anything else goes on as it is."""
    try:
        yield
    except tuple(statuses) as exc:
        code = next(code for kind, code in statuses.items() if isinstance(exc, kind))
        raise HTTPException(code, str(exc)) from None


def _field(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def describe_problem(exc: Exception, *, most: int = 3) -> str:
    """One line a person can act on, for a row of an import that was refused."""
    if isinstance(exc, ValidationError):
        found = []
        for e in exc.errors()[:most]:
            message = str(e["msg"]).removeprefix("Value error, ")
            found.append(f"{_field(tuple(e['loc']))}: {message}" if e["loc"] else message)
        return "; ".join(found)
    return str(exc)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [{"field": _field(tuple(e["loc"])), "problem": e["msg"]} for e in exc.errors()]
    summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
    return JSONResponse(
        status_code=422,
        content={"message": f"Please correct the request. {summary}", "problems": problems},
    )


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail
    message = detail.get("message", str(detail)) if isinstance(detail, dict) else str(detail)
    return JSONResponse(status_code=exc.status_code, content={"message": message}, headers=exc.headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    """Nothing a caller sends should land here; if it does, the answer is still JSON and
    says what to do. A database or broker that is down is a 503 to retry, not our fault
    to report. (The traceback is logged by the server without bind parameters: engines
    are created with ``hide_parameters``.)"""
    if is_outage(exc):
        return JSONResponse(
            status_code=503,
            content={"message": "The service is briefly unavailable; nothing was changed. Please retry."},
            headers={"Retry-After": "5"},
        )
    return JSONResponse(
        status_code=500,
        content={"message": "Something went wrong on our side; nothing was changed. Please retry."},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Every error answers ``{"message": ...}``: one shape for people and front-ends."""
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
