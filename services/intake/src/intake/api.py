"""intake's HTTP API: the referral form and the phone-line integration post here."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from contracts.types import (
    ConnectionPath,
    LanguageCode,
    Modality,
    ReasonCategory,
    ReasonKind,
    SiteId,
    StaffRef,
    Urgency,
)
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from servicekit.auth import Principal, Role, requires
from servicekit.database import UnitOfWorkFactory

from intake import handlers
from intake.domain import Contact, Referral, ReferralRejected, check_reason

router = APIRouter()

Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{7,20}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reason(Strict):
    category: ReasonCategory
    kind: ReasonKind


class Worker(Strict):
    staff_ref: StaffRef | None = Field(default=None, description="Directory reference, if known")
    name: Name = Field(description="How the supporter should address the worker")
    phone: Phone | None = None
    email: EmailStr | None = None


class Preferences(Strict):
    same_profession: bool | None = Field(
        default=None, description="true: same profession; false: deliberately another discipline"
    )
    languages: list[LanguageCode] = Field(default_factory=list, max_length=5)


class SelfReferral(Strict):
    site_id: SiteId
    reason: Reason
    urgency: Urgency
    modality: Modality = Modality.EITHER
    worker: Worker
    preferences: Preferences = Field(default_factory=Preferences)
    excluded_supporters: list[StaffRef] = Field(default_factory=list, max_length=20)
    imminent_risk: bool = Field(
        default=False, description="The worker reports an imminent risk to life or of harm"
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": "north-general",
                    "reason": {"category": "critical_incident", "kind": "unexpected_patient_death"},
                    "urgency": "within_hours",
                    "modality": "phone",
                    "worker": {"staff_ref": "st-1001", "name": "Sam", "phone": "+1 555 0100"},
                }
            ]
        },
    )


class Accepted(BaseModel):
    referral_id: uuid.UUID
    status: str
    message: str


class SiteIn(Strict):
    display_name: Name


def _uow(request: Request) -> UnitOfWorkFactory:
    return request.app.state.uow  # type: ignore[no-any-return]


@router.put("/sites/{site_id}", status_code=204, tags=["sites"])
async def put_site(
    site_id: SiteId,
    body: SiteIn,
    request: Request,
    _admin: Annotated[Principal, Depends(requires(Role.AUTHORITY_ADMIN))],
) -> None:
    async with _uow(request)() as uow:
        await handlers.upsert_site(uow, site_id, body.display_name)


@router.post("/referrals", status_code=202, response_model=Accepted, tags=["referrals"])
async def post_self_referral(
    body: SelfReferral,
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Accepted:
    """A worker asks for support. Nothing is stored unless the whole request is valid."""
    try:
        check_reason(body.reason.category, body.reason.kind)
        referral = Referral(
            id=uuid.uuid4(),
            site_id=body.site_id,
            path=ConnectionPath.SELF,
            reason_category=body.reason.category,
            reason_kind=body.reason.kind,
            urgency=body.urgency,
            modality=body.modality,
            submitted_at=datetime.now(UTC),
            worker=body.worker.staff_ref,
            imminent_risk=body.imminent_risk,
            excluded_supporters=body.excluded_supporters,
            prefers_same_profession=body.preferences.same_profession,
            languages=body.preferences.languages,
        )
        async with _uow(request)() as uow:
            result = await handlers.submit_referral(
                uow,
                referral,
                Contact(name=body.worker.name, phone=body.worker.phone, email=body.worker.email),
                request.app.state.vault,
                idempotency_key,
            )
    except ReferralRejected as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, {"message": str(exc)}) from None
    return Accepted(
        referral_id=result.referral_id,
        status="submitted",
        message="Thank you. A trained peer supporter will contact you; nobody else is told you asked.",
    )


@router.get("/referrals/{referral_id}", tags=["referrals"])
async def get_referral(
    referral_id: uuid.UUID,
    request: Request,
    principal: Annotated[
        Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN, Role.PEER_SUPPORTER))
    ],
) -> dict[str, object]:
    async with _uow(request)() as uow:
        try:
            return await handlers.case_summary(uow, referral_id, principal)
        except handlers.NotFound:
            raise HTTPException(404, "no such referral for the sites you act for") from None


@router.get("/referrals/{referral_id}/contact", tags=["referrals"])
async def get_contact(
    referral_id: uuid.UUID,
    request: Request,
    principal: Annotated[
        Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN, Role.PEER_SUPPORTER))
    ],
    purpose: Annotated[str, Query(min_length=3, max_length=80, pattern=r"^[a-z_ -]+$")] = "call_back",
) -> dict[str, str | None]:
    """The worker's contact, for the person who must reach them. The read is audited."""
    async with _uow(request)() as uow:
        try:
            contact = await handlers.read_contact(
                uow, referral_id, principal, purpose, request.app.state.vault
            )
        except handlers.NotFound:
            raise HTTPException(404, "no such referral for the sites you act for") from None
    return {"name": contact.name, "phone": contact.phone, "email": contact.email}
