"""The page a message's link opens: what the request is (site, crisis or not, how urgent,
the time to answer by in the site's zone) in the supporter's language, and one button.

Opening a link only shows the button: mail scanners open links too, and must not answer a
page for anyone. After taking it, the supporter is led to the case, which asks them to
sign in first.
"""

from __future__ import annotations

import uuid
from html import escape
from typing import Annotated, Any

from contracts.time_text import time_text, zone_of
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from servicekit.api import unit_of_work

from oncall import views
from oncall.links import LinkRefused
from oncall.paging import answers
from oncall.paging.policy import PageClosed, PageNotFound

router = APIRouter()

_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font:1.1rem system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#111}}
button,.button{{font-size:1.1rem;padding:.7rem 1.2rem;margin:.3rem 0;min-height:44px}}
.crisis{{background:#fde8e8;color:#7a0000;font-weight:700;padding:.2rem .5rem}}</style></head>
<body><main>{content}</main></body></html>"""

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Peer support request",
        "site": "Site",
        "urgency": "How urgent",
        "answer_by": "Answer by",
        "crisis": "Crisis: a mental-health professional is needed",
        "take": "Take this case",
        "decline": "I cannot take it",
        "choose": "Choose to take the case or to decline it.",
        "gone": "This page no longer exists.",
        "closed": "{reason}. Thank you all the same.",
        "closed_acknowledged": "Someone has already taken this case",
        "closed_exhausted": "Paging for this case has moved on to the coordinator",
        "closed_ended": "This case has ended: nobody is needed for it any more",
        "link_invalid": "This link is not valid. Open the page from the latest message, or sign in.",
        "link_damaged": "This link is damaged. Open it again from the message.",
        "link_expired": "This link has expired. Sign in to see your pages.",
        "link_used": "This link was already used. Sign in to see where the case stands.",
        "taken": "Thank you: the case is yours.",
        "open_case": "Open the case (you will be asked to sign in) to see how to reach the person.",
        "sign_in": "Sign in to see how to reach the person.",
        "declined": "Thank you: the next person is being paged now.",
        "as_soon_as_possible": "As soon as possible",
        "within_hours": "Within hours",
        "within_days": "Within days",
    },
    "fr": {
        "title": "Demande de soutien par les pairs",
        "site": "Site",
        "urgency": "Urgence",
        "answer_by": "Répondre avant",
        "crisis": "Crise : il faut un professionnel de la santé mentale",
        "take": "Prendre ce dossier",
        "decline": "Je ne peux pas le prendre",
        "choose": "Choisissez de prendre le dossier ou de le refuser.",
        "gone": "Cet appel n'existe plus.",
        "closed": "{reason}. Merci tout de même.",
        "closed_acknowledged": "Quelqu'un a déjà pris ce dossier",
        "closed_exhausted": "L'appel pour ce dossier est passé à la coordination",
        "closed_ended": "Ce dossier est terminé : personne n'est plus requis",
        "link_invalid": "Ce lien n'est pas valide. Ouvrez la page depuis le dernier message, "
        "ou connectez-vous.",
        "link_damaged": "Ce lien est abîmé. Ouvrez-le de nouveau depuis le message.",
        "link_expired": "Ce lien a expiré. Connectez-vous pour voir vos appels.",
        "link_used": "Ce lien a déjà servi. Connectez-vous pour voir où en est le dossier.",
        "taken": "Merci : le dossier est à vous.",
        "open_case": "Ouvrez le dossier (on vous demandera de vous connecter) pour savoir comment "
        "joindre la personne.",
        "sign_in": "Connectez-vous pour savoir comment joindre la personne.",
        "declined": "Merci : la personne suivante est appelée maintenant.",
        "as_soon_as_possible": "Dès que possible",
        "within_hours": "Dans les heures qui viennent",
        "within_days": "Dans les jours qui viennent",
    },
}


def _language(request: Request) -> str:
    first = (request.headers.get("accept-language") or "").split(",")[0].strip().lower()
    return "fr" if first.startswith("fr") else "en"


def _html(language: str, content: str, status: int = 200) -> HTMLResponse:
    title = _WORDS[language]["title"]
    return HTMLResponse(_PAGE.format(lang=language, title=title, content=content), status_code=status)


async def _facts(request: Request, page_id: uuid.UUID) -> Any:
    async with unit_of_work(request)() as uow:
        return await views.page_facts(uow, page_id)


@router.get("/answer", response_class=HTMLResponse, tags=["pages"])
async def answer_form(request: Request, t: str = "", a: str = "acknowledge") -> HTMLResponse:
    language = _language(request)
    words = _WORDS[language]
    try:
        link = request.app.state.signer.verify(t)
    except LinkRefused as exc:
        return _html(language, f"<p>{words['link_' + exc.reason]}</p>", 400)
    facts = await _facts(request, link.page_id)
    if facts is None:
        return _html(language, f"<p>{words['gone']}</p>", 404)
    zone = zone_of(facts.time_zone, request.app.state.policy.time_zone)
    take = a != "decline"
    crisis = f"<p class='crisis'>{words['crisis']}</p>" if facts.crisis else ""
    urgency = words.get(str(facts.urgency), "") if facts.urgency else ""
    return _html(
        language,
        f"<h1>{words['title']}</h1>{crisis}<dl>"
        f"<dt>{words['site']}</dt><dd>{escape(facts.site_id)}</dd>"
        + (f"<dt>{words['urgency']}</dt><dd>{urgency}</dd>" if urgency else "")
        + f"<dt>{words['answer_by']}</dt><dd>{time_text(facts.acknowledge_by, zone, language)}</dd></dl>"
        f"<form method='post' action='answer'>"
        f"<input type='hidden' name='t' value='{escape(t)}'>"
        f"<input type='hidden' name='a' value='{'acknowledge' if take else 'decline'}'>"
        f"<button type='submit'>{words['take'] if take else words['decline']}</button></form>",
    )


@router.post("/answer", response_class=HTMLResponse, tags=["pages"])
async def answer(request: Request, t: Annotated[str, Form()], a: Annotated[str, Form()]) -> HTMLResponse:
    """Answer the page the link names, as the person it was sent to; once."""
    language = _language(request)
    words = _WORDS[language]
    if a not in ("acknowledge", "decline"):
        return _html(language, f"<p>{words['choose']}</p>", 422)
    try:
        link = request.app.state.signer.verify(t)
    except LinkRefused as exc:
        return _html(language, f"<p>{words['link_' + exc.reason]}</p>", 400)
    facts = await _facts(request, link.page_id)
    # the refusal leaves the block by its exception, so nothing of the answer is kept (the
    # link's nonce included): a block that ends normally commits
    try:
        async with unit_of_work(request)() as uow:
            await answers.answer_by_link(uow, link, a == "acknowledge", request.app.state.policy)
    except answers.LinkUsed:
        return _html(language, f"<p>{words['link_used']}</p>", 409)
    except PageNotFound:
        return _html(language, f"<p>{words['gone']}</p>", 404)
    except PageClosed as exc:
        why = words.get(f"closed_{exc.status}", words["closed_ended"])
        return _html(language, f"<p>{words['closed'].format(reason=why)}</p>", 409)
    if a != "acknowledge":
        return _html(language, f"<p>{words['declined']}</p>")
    frontend = request.app.state.settings.frontend_url
    if frontend and facts is not None:
        url = f"{frontend.rstrip('/')}/me/cases/{facts.referral_id}"
        return _html(
            language,
            f"<p>{words['taken']}</p><p><a class='button' href='{escape(url)}'>{words['open_case']}</a></p>",
        )
    return _html(language, f"<p>{words['taken']} {words['sign_in']}</p>")
