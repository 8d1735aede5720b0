"""What every service's HTTP API shares: readable 4xx errors and health endpoints."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def _field(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [
        {"field": _field(tuple(e["loc"])), "problem": e["msg"]} for e in exc.errors()
    ]
    summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
    return JSONResponse(
        status_code=422,
        content={"message": f"Please correct the request. {summary}", "problems": problems},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
