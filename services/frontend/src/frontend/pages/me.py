"""A supporter's own page: the pages waiting for their answer, each with its site, whether
it is a crisis, how urgent and the time to answer by, taken or declined with one button;
then the cases they took, each with what to do next, and those that ended lately.
Every POST redirects, so a reload answers nothing twice."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from frontend.gateway import Refused
from frontend.web import PageNotFound, SignedIn, check_form, render, services, translator

router = APIRouter()


@router.get("/me", response_class=HTMLResponse)
async def my_pages(request: Request, session: SignedIn, done: str = "", problem: str = "") -> HTMLResponse:
    if not session.staff_ref:
        raise PageNotFound  # an account with no staff reference is paged for nothing
    t = translator(request)
    calls = services(request, session)
    pages, cases = await asyncio.gather(calls.my_pages(), calls.my_cases())
    notice = t(f"me.done.{done}") if done in ("take", "decline") else None
    failure = t("me.refused") if problem == "closed" else None
    return render(
        request,
        "me.html",
        section="me",
        pages=pages,
        open_cases=[c for c in cases if c["status"] not in ENDED],
        ended_cases=[c for c in cases if c["status"] in ENDED],
        next_step=next_step,
        notice=notice,
        problem=failure,
    )


ENDED = ("closed", "withdrawn", "declined")


def next_step(case: dict[str, object]) -> str:
    """What the supporter does next, as the catalogue says it."""
    if case["status"] in ("submitted", "matched"):
        return "me.case.next.call_back"
    if case["status"] == "contacted":
        return "me.case.next.meet"
    if case["status"] == "met":
        return "me.case.next.close"
    return "me.case.next.none"


@router.post("/me/pages/{page_id}/{answer}", response_model=None)
async def answer(
    page_id: uuid.UUID, answer: str, request: Request, session: SignedIn, form_token: Annotated[str, Form()]
) -> RedirectResponse:
    check_form(session, form_token)
    if answer not in ("take", "decline"):
        raise PageNotFound
    try:
        await services(request, session).answer_page(page_id, accept=answer == "take")
    except Refused as exc:
        if exc.status == 409:  # someone else took it, or the case ended: the list says the rest
            return RedirectResponse("/me?problem=closed", status_code=303)
        raise
    return RedirectResponse(f"/me?done={answer}", status_code=303)
