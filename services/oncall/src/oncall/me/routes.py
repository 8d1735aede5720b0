"""A supporter's own settings: stepping away and back, and the routes their pages take."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from contracts.types import PHONE_PATTERN, StaffRef
from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Body, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from servicekit.api import unit_of_work
from servicekit.auth import OnCall, Principal, Role, requires

from oncall import views
from oncall.me import handlers as own
from oncall.me.schemas import Availability, ContactRoute
from oncall.paging.schemas import MyPage

router = APIRouter()
PHONE = re.compile(PHONE_PATTERN)


class AvailabilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    available: bool = Field(description="false: step away (no new cases); true: come back")


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["email", "webhook", "sms", "voice"]
    address: str = Field(min_length=3, max_length=500)

    @model_validator(mode="after")
    def _address(self) -> RouteIn:
        if self.channel == "email":
            try:
                validate_email(self.address, check_deliverability=False)
            except EmailNotValidError:
                raise ValueError("address: not an e-mail address") from None
        elif self.channel in ("sms", "voice"):
            if not PHONE.fullmatch(self.address):
                raise ValueError(
                    f"address: {'a text message' if self.channel == 'sms' else 'a call'} goes to a phone "
                    "number in international form, +15550100199"
                )
        elif not self.address.startswith(("https://", "http://")):
            raise ValueError("address: a webhook is an http(s) URL")
        return self


def _me(principal: Principal) -> str:
    if principal.staff_ref is None:
        raise HTTPException(403, "your sign-in carries no staff reference")
    return principal.staff_ref


@router.get("/me/pages", tags=["me"])
async def get_my_pages(request: Request, principal: OnCall) -> list[MyPage]:
    """The pages waiting for my answer: site, crisis, urgency and the time to answer by."""
    async with unit_of_work(request)() as uow:
        return await views.my_pages(uow, _me(principal))


@router.get("/me/availability", tags=["me"])
async def get_availability(request: Request, principal: OnCall) -> Availability:
    """Whether I take new cases now."""
    async with unit_of_work(request)() as uow:
        available, version = await own.availability(uow, _me(principal))
    return Availability(available=available, version=version)


@router.put("/me/availability", tags=["me"])
async def put_availability(body: AvailabilityIn, request: Request, principal: OnCall) -> Availability:
    """Step away from supporting for now, or come back, at any time: no reason is asked."""
    async with unit_of_work(request)() as uow:
        version = await own.set_availability(uow, _me(principal), body.available)
    return Availability(available=body.available, version=version)


def _vault(request: Request) -> Any:
    vault = request.app.state.vault
    if vault is None:
        raise HTTPException(503, "contact routes cannot be stored: PERSONAL_DATA_KEYS is not configured")
    return vault


def _allowed(request: Request, routes: list[RouteIn]) -> None:
    """A webhook goes only where the authority allows (no server-side request forgery)."""
    gateway = request.app.state.sms_gateway
    if gateway is None and any(r.channel == "sms" for r in routes):
        raise HTTPException(
            422, "text messages cannot be sent here: the authority has set up no SMS gateway; use e-mail"
        )
    if (gateway is None or gateway.kind != "twilio") and any(r.channel == "voice" for r in routes):
        raise HTTPException(
            422,
            "calls cannot be placed here: calls need the authority's Twilio gateway; use a text or e-mail",
        )
    allowed = request.app.state.webhooks
    refused = [i for i, r in enumerate(routes) if r.channel == "webhook" and not allowed.allows(r.address)]
    if refused:
        raise HTTPException(
            422,
            f"route {', '.join(str(i + 1) for i in refused)}: this webhook address is not one the "
            "authority allows (WEBHOOK_ALLOWED); ask the authority to add its gateway, or use e-mail",
        )


@router.put("/me/contact-routes", status_code=204, tags=["me"])
async def put_my_routes(
    body: Annotated[list[RouteIn], Body(min_length=1, max_length=5)], request: Request, principal: OnCall
) -> None:
    """How pages reach me, in order: each is retried, then the next is tried."""
    vault = _vault(request)
    _allowed(request, body)
    async with unit_of_work(request)() as uow:
        await own.put_routes(uow, vault, _me(principal), [(r.channel, r.address) for r in body])


@router.get("/me/contact-routes", tags=["me"])
async def get_my_routes(request: Request, principal: OnCall) -> list[ContactRoute]:
    """How pages reach me, in the order they are tried."""
    vault = _vault(request)
    async with unit_of_work(request)() as uow:
        found = await own.routes(uow, vault, _me(principal))
    return [ContactRoute(channel=channel, address=address) for channel, address in found]


@router.put("/people/{staff_ref}/contact-routes", status_code=204, tags=["me"])
async def put_routes(
    staff_ref: StaffRef,
    body: Annotated[list[RouteIn], Body(min_length=1, max_length=5)],
    request: Request,
    _admin: Annotated[Principal, Depends(requires(Role.AUTHORITY_ADMIN))],
) -> None:
    """The authority sets someone's routes (e.g. from its paging directory at onboarding)."""
    vault = _vault(request)
    _allowed(request, body)
    async with unit_of_work(request)() as uow:
        await own.put_routes(uow, vault, staff_ref, [(r.channel, r.address) for r in body])
