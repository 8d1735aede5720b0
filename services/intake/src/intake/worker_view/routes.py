"""The worker's own view of their case, by the private token, without an account."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import (
    BaseModel,
)
from servicekit.api import refusals, unit_of_work

from intake import common
from intake.domain import (
    CaseStatus,
    LifecycleError,
)
from intake.web import WorkerToken, conflict
from intake.worker_view import handlers as worker_handlers

router = APIRouter()


class WorkerView(BaseModel):
    referral_id: uuid.UUID
    status: CaseStatus
    offer_expires_at: datetime | None = None


MY_CASE_PAGE = Path(__file__).parent.parent / "static" / "my-case.html"


@router.get("/my-case/page", response_class=HTMLResponse, tags=["worker"])
async def my_case_page() -> HTMLResponse:
    """The page the link in an offer opens: the worker accepts, declines or withdraws."""
    return HTMLResponse(MY_CASE_PAGE.read_text(), headers={"Cache-Control": "no-store"})


@router.get("/my-case", response_model=WorkerView, tags=["worker"])
async def get_my_case(request: Request, worker_token: WorkerToken) -> WorkerView:
    """The worker follows their own case with the private key they were given."""
    async with unit_of_work(request)() as uow:
        with refusals({common.NotFound: 404}):
            return WorkerView(**await worker_handlers.worker_view(uow, worker_token))


async def _worker_step(request: Request, token: str, step: str) -> WorkerView:
    async with unit_of_work(request)() as uow:
        try:
            if step == "withdraw":
                await worker_handlers.withdraw_by_worker(uow, token)
            else:
                await worker_handlers.answer_offer(uow, token, accept=step == "accept")
        except common.NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except LifecycleError as exc:
            raise conflict(exc) from None
    async with unit_of_work(request)() as uow:
        return WorkerView(**await worker_handlers.worker_view(uow, token))


@router.post("/my-case/accept", response_model=WorkerView, tags=["worker"])
async def accept_offer(request: Request, worker_token: WorkerToken) -> WorkerView:
    """The worker accepts an offer of support: a supporter is found and paged."""
    return await _worker_step(request, worker_token, "accept")


@router.post("/my-case/decline", response_model=WorkerView, tags=["worker"])
async def decline_offer(request: Request, worker_token: WorkerToken) -> WorkerView:
    """The worker declines: nobody reaches out, and nobody is told."""
    return await _worker_step(request, worker_token, "decline")


@router.post("/my-case/withdraw", response_model=WorkerView, tags=["worker"])
async def withdraw_my_case(request: Request, worker_token: WorkerToken) -> WorkerView:
    """The worker stops at any point; paging stops too."""
    return await _worker_step(request, worker_token, "withdraw")
