"""Twilio's webhooks of a page's phone call: what to say when it is answered, the key pressed,
and the call's status. Each is signed with ``X-Twilio-Signature`` over the address it was
sent to, reply code included, so a code cannot be tried from anywhere but the call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from servicekit.api import unit_of_work

from oncall.sms import handlers as sms
from oncall.sms.replies import Reply
from oncall.sms.routes import Signature, StatusOut, twilio_form
from oncall.voice import calls, speech
from oncall.voice.handlers import page_called_about

router = APIRouter(tags=["voice"])

Code = Annotated[str, Query(pattern=r"^\d{4}$", description="The page's reply code for this phone")]
XML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/xml": {}}}}


def _xml(body: str) -> Response:
    return Response(body, media_type="text/xml")


def _callee(form: dict[str, str]) -> str:
    # a call the platform placed: Twilio's To is the phone called
    if not form.get("CallSid") or not form.get("To"):
        raise HTTPException(422, "a Twilio call names its id (CallSid) and the phone called (To)")
    return form["To"]


def _url(request: Request, path: str, code: str) -> str:
    return speech.with_code(request.app.state.settings.public_base_url.rstrip("/") + path, code)


@router.post(calls.ANSWER, response_class=Response, responses=XML)
async def answered(request: Request, code: Code, signature: Signature = None) -> Response:
    """The call was picked up: the page in words, then 1 to take it and 2 to decline."""
    form = await twilio_form(request, signature)
    phone = sms.phone_digest(request.app.state.phone_key, _callee(form))
    async with unit_of_work(request)() as uow:
        found = await page_called_about(uow, phone, code)
    if isinstance(found, Reply):
        return _xml(speech.told(found))
    return _xml(speech.ask(found, _url(request, "/voice/twilio/pressed", code)))


@router.post("/voice/twilio/pressed", response_class=Response, responses=XML)
async def pressed(request: Request, code: Code, signature: Signature = None) -> Response:
    """A key pressed during the call: 1 takes the page, 2 declines it; another asks again."""
    form = await twilio_form(request, signature)
    phone = sms.phone_digest(request.app.state.phone_key, _callee(form))
    action = speech.KEYS.get(form.get("Digits", ""))
    if action is None:
        return _xml(speech.again(_url(request, calls.ANSWER, code)))
    async with unit_of_work(request)() as uow:
        outcome = await sms.answer_once(
            uow, f"{form['CallSid']}:{form['Digits']}", phone, (action, code), request.app.state.policy
        )
    return _xml(speech.told(outcome))


@router.post(calls.STATUS)
async def call_status(request: Request, signature: Signature = None) -> StatusOut:
    """The call's end (CallStatus of CallSid): completed, or busy, unanswered or failed and the
    page goes to the next route."""
    form = await twilio_form(request, signature)
    if not form.get("CallSid") or not form.get("CallStatus"):
        raise HTTPException(422, "a Twilio call status names CallSid and CallStatus")
    async with unit_of_work(request)() as uow:
        changed = await sms.gateway_reported(uow, form["CallSid"], form["CallStatus"], "voice")
    return StatusOut(changed=changed)
