"""Pages: taken or declined (signed in, or from the link in a message), followed by the
coordinator (each page's delivery, the site's queue)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from html import escape
from typing import Annotated

from contracts.types import SiteId
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from servicekit.auth import Principal, ProgramStaff, Role, SiteCoordinator, ensure_site, requires

from oncall import views
from oncall.links import LinkRefused
from oncall.paging import answers
from oncall.paging.policy import PageClosed, PageNotFound
from oncall.web import unit_of_work

router = APIRouter()


async def _answer(request: Request, page_id: uuid.UUID, principal: Principal, accept: bool) -> dict[str, str]:
    async with unit_of_work(request)() as uow:
        try:
            if accept:
                await answers.acknowledge(uow, page_id, principal)
            else:
                await answers.decline(uow, page_id, principal, request.app.state.policy)
        except PageNotFound:
            raise HTTPException(404, "no such page for you") from None
        except PageClosed as exc:
            raise HTTPException(409, str(exc)) from None
    return {"status": "acknowledged" if accept else "declined"}


@router.post("/pages/{page_id}/acknowledge", tags=["pages"])
async def acknowledge(page_id: uuid.UUID, request: Request, principal: ProgramStaff) -> dict[str, str]:
    """Take the case. Cancels every other pending page and timer of this referral."""
    return await _answer(request, page_id, principal, accept=True)


@router.post("/pages/{page_id}/decline", tags=["pages"])
async def decline(page_id: uuid.UUID, request: Request, principal: ProgramStaff) -> dict[str, str]:
    """Cannot take it now: the next person in the chain is paged at once."""
    return await _answer(request, page_id, principal, accept=False)


@router.get("/referrals/{referral_id}/pages", tags=["pages"])
async def referral_pages(
    referral_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))],
) -> list[dict[str, object]]:
    async with unit_of_work(request)() as uow:
        site_id, pages = await views.pages_of(uow, referral_id)
    if site_id is None:
        raise HTTPException(404, "no pages for this referral")
    ensure_site(principal, site_id)
    return pages


@router.get("/sites/{site_id}/episodes", tags=["pages"])
async def site_episodes(
    site_id: SiteId,
    request: Request,
    principal: SiteCoordinator,
) -> list[dict[str, object]]:
    """The site's cases that still need something of oncall: who is being paged, whether
    paging escalated or found nobody to propose, and the two service-level clocks (due
    time and state: running, kept, missed or stopped). Ids and categories only."""
    async with unit_of_work(request)() as uow:
        return await views.site_episodes(uow, site_id, datetime.now(UTC))


# --- answering from a message ------------------------------------------------------------

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Peer support page</title>
<style>body{{font:1.1rem system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#111}}
button{{font-size:1.1rem;padding:.7rem 1.2rem;margin:.3rem}}</style></head><body>{content}</body></html>"""


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(content=content), status_code=status)


@router.get("/answer", response_class=HTMLResponse, tags=["pages"])
async def answer_form(request: Request, t: str = "", a: str = "acknowledge") -> HTMLResponse:
    """Opening a link only shows a button: mail scanners open links too, and must not
    answer a page for anyone."""
    try:
        request.app.state.signer.verify(t)
    except LinkRefused as exc:
        return _html(f"<p>{escape(str(exc))}</p>", 400)
    take = a != "decline"
    label = "Take this case" if take else "I cannot take it"
    return _html(
        f"<h1>Peer support request</h1><form method='post' action='answer'>"
        f"<input type='hidden' name='t' value='{escape(t)}'>"
        f"<input type='hidden' name='a' value='{'acknowledge' if take else 'decline'}'>"
        f"<button type='submit'>{label}</button></form>"
    )


@router.post("/answer", response_class=HTMLResponse, tags=["pages"])
async def answer(request: Request, t: Annotated[str, Form()], a: Annotated[str, Form()]) -> HTMLResponse:
    """Answer the page the link names, as the person it was sent to; once."""
    if a not in ("acknowledge", "decline"):
        return _html("<p>Choose to take the case or to decline it.</p>", 422)
    try:
        link = request.app.state.signer.verify(t)
    except LinkRefused as exc:
        return _html(f"<p>{escape(str(exc))}</p>", 400)
    async with unit_of_work(request)() as uow:
        try:
            await answers.answer_by_link(uow, link, a == "acknowledge", request.app.state.policy)
        except answers.LinkUsed as exc:
            return _html(f"<p>{escape(str(exc))}</p>", 409)
        except PageNotFound:
            return _html("<p>This page no longer exists.</p>", 404)
        except PageClosed as exc:
            return _html(f"<p>{escape(str(exc))}. Thank you all the same.</p>", 409)
    if a == "acknowledge":
        return _html("<p>Thank you: the case is yours. Sign in to see how to reach the person.</p>")
    return _html("<p>Thank you: the next person is being paged now.</p>")
