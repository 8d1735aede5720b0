"""The SMS gateway's webhooks: replies to pages, and delivery reports. Twilio's form posts
with ``X-Twilio-Signature``, or the signed-JSON variant for any other gateway. A request that
is not signed by the configured gateway is refused and changes nothing."""

from __future__ import annotations

from html import escape
from typing import Annotated, TypeVar

from fastapi import APIRouter, Header, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from servicekit.api import unit_of_work

from oncall.sms import handlers as sms
from oncall.sms.gateway import SmsGateway
from oncall.sms.signatures import signed_json_valid, twilio_valid

router = APIRouter(tags=["sms"])
M = TypeVar("M", bound=BaseModel)

NOT_SIGNED = "this request is not signed by the platform's SMS gateway: nothing was changed"


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=100, description="The gateway's id of the inbound text")
    from_: str = Field(alias="from", min_length=3, max_length=32, description="The sender's number, E.164")
    text: str = Field(max_length=1600)


class ReplyOut(BaseModel):
    reply: str = Field(description="What to text back to the sender")


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=100, description="The gateway's id of the message sent")
    status: str = Field(min_length=1, max_length=32, description="sent, delivered, undelivered or failed")


class StatusOut(BaseModel):
    changed: bool


def _gateway(request: Request, kind: str) -> SmsGateway:
    gateway: SmsGateway | None = request.app.state.sms_gateway
    if gateway is None or gateway.kind != kind:
        raise HTTPException(404, f"no {kind.replace('_', ' ')} SMS gateway is configured here")
    return gateway


async def twilio_form(request: Request, signature: str | None) -> dict[str, str]:
    """The form Twilio posted, once its signature over the address and fields is checked
    (404 where no Twilio gateway is configured, 403 when not signed by it)."""
    gateway = _gateway(request, "twilio")
    form = await request.form()
    params = [(k, str(v)) for k, v in form.multi_items()]
    # the address the gateway called, as the public sees it (not as a proxy forwarded it)
    url = request.app.state.settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if not twilio_valid(gateway.secret, url, params, signature):
        raise HTTPException(403, NOT_SIGNED)
    return {k: v for k, v in params}


async def _reply(request: Request, ref: str, sender: str, text: str) -> str:
    """What to text back to ``sender``, once their reply is answered."""
    phone = sms.phone_digest(request.app.state.phone_key, sender)
    async with unit_of_work(request)() as uow:
        return await sms.reply_to(uow, ref, phone, text, request.app.state.policy)


def _twiml(text: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'
    return Response(body, media_type="text/xml")


Signature = Annotated[str | None, Header(alias="X-Twilio-Signature")]


@router.post("/sms/twilio/inbound", response_class=Response, responses={200: {"content": {"text/xml": {}}}})
async def twilio_inbound(request: Request, signature: Signature = None) -> Response:
    """A reply to a page ("T 4821" takes it, "D 4821" declines), answered in TwiML."""
    form = await twilio_form(request, signature)
    sender, text, ref = form.get("From", ""), form.get("Body", ""), form.get("MessageSid", "")
    if not sender or not ref:
        raise HTTPException(422, "a Twilio message names its sender (From) and its id (MessageSid)")
    return _twiml(await _reply(request, ref, sender, text))


@router.post("/sms/twilio/status")
async def twilio_status(request: Request, signature: Signature = None) -> StatusOut:
    """A delivery report (MessageStatus of MessageSid): delivered, or failed and the next route."""
    form = await twilio_form(request, signature)
    if not form.get("MessageSid") or not form.get("MessageStatus"):
        raise HTTPException(422, "a Twilio status report names MessageSid and MessageStatus")
    async with unit_of_work(request)() as uow:
        changed = await sms.gateway_reported(uow, form["MessageSid"], form["MessageStatus"])
    return StatusOut(changed=changed)


async def _signed(request: Request, timestamp: str | None, signature: str | None, model: type[M]) -> M:
    gateway = _gateway(request, "signed_json")
    body = await request.body()
    if not signed_json_valid(gateway.secret, timestamp, body, signature):
        raise HTTPException(403, NOT_SIGNED)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise HTTPException(422, f"{'.'.join(map(str, first['loc'])) or 'body'}: {first['msg']}") from None


Stamp = Annotated[str | None, Header(alias="X-PSS-Timestamp")]
JsonSignature = Annotated[str | None, Header(alias="X-PSS-Signature")]


@router.post("/sms/inbound")
async def signed_inbound(
    request: Request, timestamp: Stamp = None, signature: JsonSignature = None
) -> ReplyOut:
    """A reply to a page from any gateway, as signed JSON: {"id", "from", "text"}."""
    body = await _signed(request, timestamp, signature, ReplyIn)
    return ReplyOut(reply=await _reply(request, body.id, body.from_, body.text))


@router.post("/sms/status")
async def signed_status(
    request: Request, timestamp: Stamp = None, signature: JsonSignature = None
) -> StatusOut:
    """A delivery report from any gateway, as signed JSON: {"id", "status"}."""
    body = await _signed(request, timestamp, signature, StatusIn)
    async with unit_of_work(request)() as uow:
        changed = await sms.gateway_reported(uow, body.id, body.status)
    return StatusOut(changed=changed)
