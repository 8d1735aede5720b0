"""intake's HTTP API: every way a worker reaches the program, the worker's own view of
their case, and the case for the coordinators and supporters who work it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from contracts.types import (
    CaseOutcome,
    ConnectionPath,
    Gender,
    LanguageCode,
    Modality,
    Moment,
    OfferSource,
    ReasonCategory,
    ReasonKind,
    SiteId,
    StaffRef,
    UnitCode,
    Urgency,
)
from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from servicekit.api import describe_problem
from servicekit.auth import Principal, Role, ensure_site, requires
from servicekit.database import UnitOfWorkFactory
from servicekit.text import PRINTABLE_LINE

from intake import handlers
from intake.domain import (
    CRISIS_ANSWER,
    DEFAULT_CRISIS_RESOURCES,
    HR_ANSWER,
    CaseStatus,
    ConfidentialityException,
    Contact,
    HrMatter,
    LifecycleError,
    Referral,
    ReferralRejected,
)

router = APIRouter()

Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{7,20}$")]
Name = Annotated[str, PRINTABLE_LINE, Field(min_length=1, max_length=120)]
# crisis and help lines may be short codes (911, 988)
LinePhone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{3,20}$")]
Label = Annotated[str, PRINTABLE_LINE, Field(min_length=1, max_length=200)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s\x00-\x1f\x7f]{3,300}$")]
WorkerToken = Annotated[str, Header(alias="Worker-Token", min_length=16, max_length=100)]

COORDINATOR = requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN)
CASE_WORKER = requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN, Role.PEER_SUPPORTER)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- what the forms carry ----------------------------------------------------------------


class Reason(Strict):
    category: ReasonCategory | Literal["hr_matter"] = Field(
        description="Why the worker comes (001 Box 4.1). 'hr_matter' is not peer support: it is "
        "answered with where to go instead, and creates no case."
    )
    kind: ReasonKind | HrMatter


class Person(Strict):
    staff_ref: StaffRef | None = Field(default=None, description="Directory reference, if known")
    name: Name = Field(description="How the supporter should address them")
    phone: Phone | None = None
    email: EmailStr | None = None

    @model_validator(mode="after")
    def reachable(self) -> Person:
        if self.phone is None and self.email is None:
            raise ValueError("give a phone number or an e-mail address, so a supporter can reach them")
        return self

    def contact(self) -> Contact:
        return Contact(name=self.name, phone=self.phone, email=self.email)


class Preferences(Strict):
    same_profession: bool | None = Field(
        default=None, description="true: same profession; false: deliberately another discipline"
    )
    gender: Gender | None = Field(default=None, description="Of the supporter")
    other_site: bool = Field(default=False, description="Someone from another site of the authority")
    languages: list[LanguageCode] = Field(default_factory=list, max_length=5)


class SelfReferral(Strict):
    site_id: SiteId
    reason: Reason
    urgency: Urgency
    modality: Modality = Modality.EITHER
    channel: Literal["web_form", "phone_line", "pager", "email"] = Field(
        default="web_form",
        description="The form, or the phone-line or pager integration posting for the worker",
    )
    worker: Person
    preferences: Preferences = Field(default_factory=Preferences)
    excluded_supporters: list[StaffRef] = Field(
        default_factory=list, max_length=20, description="People the worker does not want: never proposed"
    )
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
                    "preferences": {"same_profession": True, "languages": ["fr"]},
                }
            ]
        },
    )


class ManagerReferral(Strict):
    site_id: SiteId
    reason: Reason
    urgency: Urgency = Urgency.WITHIN_DAYS
    modality: Modality = Modality.EITHER
    worker: Person = Field(description="The worker; their e-mail is needed so they can answer privately")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": "north-general",
                    "reason": {"category": "patient_safety_incident", "kind": "harmful_incident"},
                    "worker": {"name": "Sam", "email": "sam@example.org"},
                }
            ]
        },
    )


class ColleagueConcern(Strict):
    """Support for the caller in helping a colleague. Nothing about the colleague is asked,
    and nobody reaches out to them without their consent."""

    site_id: SiteId
    reason: Reason = Field(description="What happened, as it touches the caller")
    urgency: Urgency
    modality: Modality = Modality.EITHER
    caller: Person
    preferences: Preferences = Field(default_factory=Preferences)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": "north-general",
                    "reason": {"category": "work_related_stress", "kind": "cumulative_stress"},
                    "urgency": "within_days",
                    "caller": {"name": "Robin", "phone": "+1 555 0101"},
                }
            ]
        },
    )


class Consent(Strict):
    method: Literal["verbal", "written", "electronic"]
    given_at: Moment


class EapReferral(Strict):
    site_id: SiteId
    reason: Reason
    urgency: Urgency
    modality: Modality = Modality.EITHER
    worker: Person
    preferences: Preferences = Field(default_factory=Preferences)
    consent: Consent = Field(description="The worker's recorded consent: required")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": "north-general",
                    "reason": {"category": "work_related_stress", "kind": "violence_or_harassment"},
                    "urgency": "within_days",
                    "worker": {"name": "Sam", "phone": "+1 555 0100"},
                    "consent": {"method": "verbal", "given_at": "2026-11-21T10:00:00Z"},
                }
            ]
        },
    )


class GroupEvent(Strict):
    category: Literal[ReasonCategory.CRITICAL_INCIDENT, ReasonCategory.PATIENT_SAFETY]
    kind: ReasonKind


class GroupActivation(Strict):
    site_id: SiteId
    unit: UnitCode = Field(description="The team or unit touched, e.g. 'icu-4'")
    people: int = Field(ge=2, le=500, description="How many people the event touched")
    event: GroupEvent
    urgency: Urgency = Urgency.AS_SOON_AS_POSSIBLE
    modality: Modality = Modality.IN_PERSON
    contact: Person = Field(description="Who the supporters call to organise the group session")
    involved_staff: list[StaffRef] = Field(
        default_factory=list,
        max_length=50,
        description="Staff involved in the event from outside the unit: never sent to support it",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site_id": "north-general",
                    "unit": "icu-4",
                    "people": 14,
                    "event": {"category": "critical_incident", "kind": "colleague_suicide"},
                    "contact": {"name": "Charge nurse on duty", "phone": "+1 555 0102"},
                }
            ]
        },
    )


class OutreachOffer(Strict):
    site_id: SiteId
    source: Literal[OfferSource.OCCURRENCE_REPORT, OfferSource.SAFETY_HUDDLE]
    reason: Reason
    urgency: Urgency = Urgency.WITHIN_DAYS
    worker: Person = Field(description="The worker; their e-mail is needed so they can answer privately")


class Resource(BaseModel):
    label: Label
    phone: LinePhone | None = None
    url: Url | None = None


class Answer(BaseModel):
    """What the person who asked is told. ``case_created`` false: nothing was stored."""

    case_created: bool
    message: str
    referral_id: uuid.UUID | None = None
    status: CaseStatus | None = None
    worker_token: str | None = Field(
        default=None,
        description="The worker's private key to their case (see /my-case). Shown once; keep it.",
    )
    resources: list[Resource] = Field(default_factory=list)


class SiteIn(Strict):
    display_name: Name
    third_party_outreach: bool = Field(
        default=True, description="Do supporters reach out on referrals made by someone else?"
    )
    program_contact: Label | None = Field(default=None, description="How a worker reaches the program")
    crisis_resources: list[Resource] | None = Field(default=None, max_length=10)
    hr_resources: list[Resource] | None = Field(default=None, max_length=10)


class SiteResources(BaseModel):
    site_id: str
    display_name: str
    program_contact: str | None
    crisis_resources: list[Resource]
    hr_resources: list[Resource]


class Closing(Strict):
    """The minimal closing record (001). There is deliberately no field for notes."""

    contact_made: bool
    outcome: CaseOutcome


class Encounter(Strict):
    """What the supporter records of a meeting; how long it took adds up to volunteer hours."""

    duration_minutes: int | None = Field(default=None, ge=1, le=1440)


class ExceptionIn(Strict):
    reason: ConfidentialityException
    worker_informed: bool = Field(description="002: when confidentiality is broken, the person is told")


def _uow(request: Request) -> UnitOfWorkFactory:
    return request.app.state.uow  # type: ignore[no-any-return]


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(422, {"message": message})


def _conflict(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, {"message": str(exc)})


NOT_YOURS = "no such referral for the sites you act for"

# --- sites ---------------------------------------------------------------------------------


@router.put("/sites/{site_id}", status_code=204, tags=["sites"])
async def put_site(
    site_id: SiteId,
    body: SiteIn,
    request: Request,
    _admin: Annotated[Principal, Depends(requires(Role.AUTHORITY_ADMIN))],
) -> None:
    """A site of the authority and its program's policy and resources."""
    async with _uow(request)() as uow:
        await handlers.upsert_site(uow, site_id, body.model_dump(mode="json"))


async def _resources(request: Request, site_id: str) -> SiteResources:
    async with _uow(request)() as uow:
        row = await handlers.site(uow, site_id)
    if row is None:
        raise HTTPException(404, f"site_id '{site_id}' is not a site of this authority")
    return SiteResources(
        site_id=row.site_id,
        display_name=row.display_name,
        program_contact=row.program_contact,
        crisis_resources=[Resource(**r) for r in (row.crisis_resources or DEFAULT_CRISIS_RESOURCES)],
        hr_resources=[Resource(**r) for r in (row.hr_resources or [])],
    )


@router.get("/sites/{site_id}/resources", response_model=SiteResources, tags=["sites"])
async def get_site_resources(site_id: SiteId, request: Request) -> SiteResources:
    """Public: what the form shows before anything is asked (crisis lines, where HR matters go)."""
    return await _resources(request, site_id)


@router.get("/sites/{site_id}/referrals", tags=["cases"])
async def get_site_cases(
    site_id: SiteId,
    request: Request,
    principal: Annotated[Principal, Depends(COORDINATOR)],
    open_only: Annotated[bool, Query(alias="open")] = True,
) -> list[dict[str, Any]]:
    """The site's cases for its coordinators: categories and times, no personal data."""
    ensure_site(principal, site_id)
    async with _uow(request)() as uow:
        return await handlers.site_cases(uow, site_id, open_only=open_only)


# --- the ways in -----------------------------------------------------------------------------


def _referral(
    site_id: str,
    path: ConnectionPath,
    reason: Reason,
    urgency: Urgency,
    modality: Modality,
    *,
    worker: str | None = None,
    preferences: Preferences | None = None,
    **extra: Any,
) -> Referral:
    if reason.category == "hr_matter" or isinstance(reason.kind, HrMatter):
        raise _unprocessable("reason: an HR matter is not a kind of " + str(reason.category))
    preferences = preferences or Preferences()
    try:
        return Referral(
            id=uuid.uuid4(),
            site_id=site_id,
            path=path,
            reason_category=ReasonCategory(reason.category),
            reason_kind=reason.kind,
            urgency=urgency,
            modality=modality,
            submitted_at=datetime.now(UTC),
            worker=worker,
            prefers_same_profession=preferences.same_profession,
            preferred_gender=preferences.gender,
            prefers_other_site=preferences.other_site,
            languages=preferences.languages,
            **extra,
        )
    except ReferralRejected as exc:
        raise _unprocessable(str(exc)) from None


async def _hr_answer(request: Request, reason: Reason, site_id: str, response: Response) -> Answer | None:
    """HR matters are answered kindly with where to go instead, and create no case."""
    if reason.category != "hr_matter":
        return None
    if not isinstance(reason.kind, HrMatter):
        raise _unprocessable(f"reason.kind of an hr_matter is one of: {', '.join(h.value for h in HrMatter)}")
    resources = await _resources(request, site_id)
    response.status_code = status.HTTP_200_OK
    return Answer(case_created=False, message=HR_ANSWER, resources=resources.hr_resources)


async def _submit(
    request: Request,
    referral: Referral,
    contact: Contact,
    details: handlers.CaseDetails,
    idempotency: handlers.Idempotency | None,
    *,
    give_worker_token: bool = True,
) -> handlers.Submission:
    try:
        async with _uow(request)() as uow:
            return await handlers.submit_case(
                uow,
                referral,
                contact,
                request.app.state.vault,
                details,
                idempotency,
                give_worker_token=give_worker_token,
            )
    except (ReferralRejected, handlers.IdempotencyMismatch) as exc:
        raise _unprocessable(str(exc)) from None


async def _idempotency(
    request: Request, idempotency_key: Annotated[str | None, Header(max_length=200)] = None
) -> handlers.Idempotency | None:
    """The caller's Idempotency-Key with a digest of what it came with (the path and the
    body as JSON, key order aside), so a key names one request and no other."""
    if idempotency_key is None:
        return None
    try:
        body: Any = json.loads(await request.body() or b"null")
    except ValueError:
        body = (await request.body()).hex()  # not JSON: the route's own validation answers
    canonical = json.dumps([request.url.path, body], sort_keys=True, separators=(",", ":"))
    return handlers.Idempotency(idempotency_key, hashlib.sha256(canonical.encode()).hexdigest())


IdempotencyKey = Annotated[handlers.Idempotency | None, Depends(_idempotency)]
SUBMITTED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Answer, "description": "Answered, and no case created (an HR matter; no outreach here)"},
    202: {"model": Answer, "description": "A case was created"},
}


@router.post(
    "/referrals", status_code=202, response_model=Answer, responses=SUBMITTED_RESPONSES, tags=["ways in"]
)
async def post_self_referral(
    body: SelfReferral, request: Request, response: Response, idempotency: IdempotencyKey
) -> Answer:
    """A worker asks for support: the web form, or the phone-line and pager integrations.
    Nothing is stored unless the whole request is valid."""
    if hr := await _hr_answer(request, body.reason, body.site_id, response):
        return hr
    referral = _referral(
        body.site_id,
        ConnectionPath.SELF,
        body.reason,
        body.urgency,
        body.modality,
        worker=body.worker.staff_ref,
        preferences=body.preferences,
        imminent_risk=body.imminent_risk,
        excluded_supporters=body.excluded_supporters,
    )
    result = await _submit(
        request,
        referral,
        body.worker.contact(),
        handlers.CaseDetails(
            channel=body.channel, crisis_reported_by="worker" if body.imminent_risk else None
        ),
        idempotency,
    )
    return await _submitted(request, body.site_id, result, crisis=body.imminent_risk)


async def _submitted(
    request: Request,
    site_id: str,
    result: handlers.Submission,
    *,
    crisis: bool = False,
    message: str | None = None,
) -> Answer:
    if crisis:
        resources = await _resources(request, site_id)
        return Answer(
            case_created=True,
            referral_id=result.referral_id,
            status=CaseStatus.SUBMITTED,
            message=CRISIS_ANSWER,
            worker_token=result.worker_token,
            resources=resources.crisis_resources,
        )
    # a replay (the same key and request) gets the same answer as the first time
    return Answer(
        case_created=True,
        referral_id=result.referral_id,
        status=CaseStatus.SUBMITTED,
        message=message
        or "Thank you. A trained peer supporter will contact you; nobody else is told you asked.",
        worker_token=result.worker_token,
    )


@router.post(
    "/referrals/manager",
    status_code=202,
    response_model=Answer,
    responses=SUBMITTED_RESPONSES,
    tags=["ways in"],
)
async def post_manager_referral(
    body: ManagerReferral,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(requires(Role.MANAGER, Role.SITE_COORDINATOR))],
    idempotency: IdempotencyKey,
) -> Answer:
    """A manager or supervisor, signed in, suggests support for a worker of their site. The
    worker is asked privately and accepts or declines; the manager is not told the answer.
    Where the site's program does not reach out on third-party referrals, nothing is stored
    and the manager is told how the worker can reach the program themself. Offers are
    limited per requester (a mail goes to an address they typed)."""
    ensure_site(principal, body.site_id)
    if hr := await _hr_answer(request, body.reason, body.site_id, response):
        return hr
    referral = _referral(
        body.site_id,
        ConnectionPath.MANAGER,
        body.reason,
        body.urgency,
        body.modality,
        worker=body.worker.staff_ref,
    )
    settings = request.app.state.settings
    requester = principal.staff_ref or principal.subject
    try:
        async with _uow(request)() as uow:
            await handlers.check_offer_rate(uow, requester, settings.offers_per_requester_per_hour)
            result = await handlers.offer_case(
                uow,
                referral,
                body.worker.contact(),
                request.app.state.vault,
                OfferSource.MANAGER,
                channel="web_form",
                expires_after=timedelta(days=settings.offer_expires_after_days),
                portal_url=settings.worker_portal_url,
                idempotency=idempotency,
                requested_by=requester,
            )
    except handlers.TooManyOffers as exc:
        raise HTTPException(429, {"message": str(exc)}, headers={"Retry-After": "3600"}) from None
    except (ReferralRejected, handlers.IdempotencyMismatch) as exc:
        raise _unprocessable(str(exc)) from None
    except handlers.OutreachNotOffered as exc:
        response.status_code = status.HTTP_200_OK
        how = f" They can reach the program themself: {exc.program_contact}." if exc.program_contact else ""
        return Answer(
            case_created=False,
            message="Thank you for looking out for your colleague. This site's peer support program does "
            "not reach out on referrals made by others, so that asking stays the worker's own choice. "
            f"Please let them know support is available.{how}",
        )
    return Answer(
        case_created=True,
        referral_id=result.referral_id,
        status=CaseStatus.OFFERED,
        message="Thank you. We will ask your colleague privately whether they would like support. "
        "To protect their privacy, we will not tell you their answer.",
    )


@router.post(
    "/referrals/colleague",
    status_code=202,
    response_model=Answer,
    responses=SUBMITTED_RESPONSES,
    tags=["ways in"],
)
async def post_colleague_concern(
    body: ColleagueConcern, request: Request, response: Response, idempotency: IdempotencyKey
) -> Answer:
    """A worker worried about a colleague. The program supports the caller; nobody reaches
    out to the colleague without their consent."""
    if hr := await _hr_answer(request, body.reason, body.site_id, response):
        return hr
    referral = _referral(
        body.site_id,
        ConnectionPath.COLLEAGUE,
        body.reason,
        body.urgency,
        body.modality,
        worker=body.caller.staff_ref,
        preferences=body.preferences,
    )
    result = await _submit(
        request, referral, body.caller.contact(), handlers.CaseDetails(channel="web_form"), idempotency
    )
    return await _submitted(
        request,
        body.site_id,
        result,
        message="Thank you for looking out for your colleague. A trained peer supporter will call you, "
        "to support you in helping them. Nobody will contact your colleague without their consent.",
    )


@router.post(
    "/referrals/eap", status_code=202, response_model=Answer, responses=SUBMITTED_RESPONSES, tags=["ways in"]
)
async def post_eap_referral(
    body: EapReferral,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(requires(Role.OCCUPATIONAL_HEALTH, Role.SERVICE))],
    idempotency: IdempotencyKey,
) -> Answer:
    """An EAP or occupational-health referral, only with the worker's recorded consent."""
    if hr := await _hr_answer(request, body.reason, body.site_id, response):
        return hr
    if body.consent.given_at > datetime.now(UTC) + timedelta(minutes=5):
        raise _unprocessable("consent.given_at is in the future; record when the worker actually consented")
    referral = _referral(
        body.site_id,
        ConnectionPath.EAP,
        body.reason,
        body.urgency,
        body.modality,
        worker=body.worker.staff_ref,
        preferences=body.preferences,
    )
    consent = {
        "method": body.consent.method,
        "given_at": body.consent.given_at,
        "recorded_by": principal.subject,
    }
    result = await _submit(
        request,
        referral,
        body.worker.contact(),
        handlers.CaseDetails(channel="integration", consent=consent),
        idempotency,
        give_worker_token=False,  # the token is the worker's; the referrer never holds it
    )
    return await _submitted(
        request, body.site_id, result, message="Received. A trained peer supporter will contact the worker."
    )


@router.post("/group-activations", status_code=202, response_model=Answer, tags=["ways in"])
async def post_group_activation(
    body: GroupActivation,
    request: Request,
    principal: Annotated[
        Principal, Depends(requires(Role.MANAGER, Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))
    ],
    idempotency: IdempotencyKey,
) -> Answer:
    """A manager or chief activates the program for a team after a critical incident. It
    becomes one group case, staffed with several supporters."""
    ensure_site(principal, body.site_id)
    referral = _referral(
        body.site_id,
        ConnectionPath.GROUP,
        Reason(category=body.event.category, kind=body.event.kind),
        body.urgency,
        body.modality,
        group_size=body.people,
        unit=body.unit,
        involved_staff=body.involved_staff,
    )
    result = await _submit(
        request,
        referral,
        body.contact.contact(),
        handlers.CaseDetails(
            channel="web_form", unit=body.unit, activated_by=principal.staff_ref or principal.subject
        ),
        idempotency,
    )
    return await _submitted(
        request,
        body.site_id,
        result,
        message=f"Group support activated for {body.people} people. Supporters are being paged now; "
        "they will call the contact you gave to arrange the session.",
    )


def _outreach_referral(offer: OutreachOffer) -> Referral:
    return _referral(
        offer.site_id,
        ConnectionPath.PROACTIVE,
        offer.reason,
        offer.urgency,
        Modality.EITHER,
        worker=offer.worker.staff_ref,
    )


async def _offer(
    request: Request, uow: Any, offer: OutreachOffer, key: handlers.Idempotency | None, commit: bool
) -> handlers.Submission:
    settings = request.app.state.settings
    return await handlers.offer_case(
        uow,
        _outreach_referral(offer),
        offer.worker.contact(),
        request.app.state.vault,
        OfferSource(offer.source),
        channel="integration",
        expires_after=timedelta(days=settings.offer_expires_after_days),
        portal_url=settings.worker_portal_url,
        idempotency=key,
        commit=commit,
    )


@router.post("/outreach-offers", status_code=202, response_model=Answer, tags=["ways in"])
async def post_outreach_offer(
    body: OutreachOffer,
    request: Request,
    principal: Annotated[
        Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN, Role.SERVICE))
    ],
    idempotency: IdempotencyKey,
) -> Answer:
    """Proactive outreach after an occurrence report or a safety huddle: an offer the worker
    may accept or ignore."""
    if not principal.has(Role.SERVICE):
        ensure_site(principal, body.site_id)
    try:
        async with _uow(request)() as uow:
            result = await _offer(request, uow, body, idempotency, True)
    except (ReferralRejected, handlers.OutreachNotOffered, handlers.IdempotencyMismatch) as exc:
        raise _unprocessable(str(exc)) from None
    return Answer(
        case_created=True,
        referral_id=result.referral_id,
        status=CaseStatus.OFFERED,
        message="The worker will be offered support privately; they may accept or ignore it.",
    )


CSV_COLUMNS = ("staff_ref", "name", "email", "reason_category", "reason_kind")


class ImportResult(BaseModel):
    offered: int
    referral_ids: list[uuid.UUID]


@router.post(
    "/outreach-offers/import",
    status_code=202,
    response_model=ImportResult,
    tags=["ways in"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "staff_ref,name,email,reason_category,reason_kind\n"
                    "st-1001,Sam,sam@example.org,patient_safety_incident,near_miss\n",
                }
            },
        }
    },
)
async def import_outreach_offers(
    request: Request,
    principal: Annotated[
        Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN, Role.SERVICE))
    ],
    site_id: Annotated[SiteId, Query()],
    source: Annotated[Literal[OfferSource.OCCURRENCE_REPORT, OfferSource.SAFETY_HUDDLE], Query()],
    body: Annotated[bytes, Body(media_type="text/csv")] = b"",
) -> ImportResult:
    """Offers from an occurrence-report or huddle export, all or nothing: a file with one bad
    row stores no offer, and the answer names every bad row."""
    if not principal.has(Role.SERVICE):
        ensure_site(principal, site_id)
    offers, problems = _parse_offers(body, site_id, source)
    if problems:
        raise _unprocessable("nothing was imported. " + "; ".join(problems[:20]))
    if not offers:
        raise _unprocessable(f"the file has no rows; expected the columns: {', '.join(CSV_COLUMNS)}")
    ids = []
    try:
        async with _uow(request)() as uow:
            for offer in offers:
                ids.append((await _offer(request, uow, offer, None, False)).referral_id)
            await uow.commit()
    except (ReferralRejected, handlers.OutreachNotOffered) as exc:
        raise _unprocessable(f"nothing was imported. {exc}") from None
    return ImportResult(offered=len(ids), referral_ids=ids)


def _parse_offers(raw: bytes, site_id: str, source: str) -> tuple[list[OutreachOffer], list[str]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], ["the file is not UTF-8 text"]
    if len(text) > 1_000_000:
        return [], ["the file is larger than 1 MB; split it"]
    reader = csv.DictReader(io.StringIO(text))
    try:
        missing = set(CSV_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            return [], [f"missing columns: {', '.join(sorted(missing))}"]
        return _read_offers(reader, site_id, source)
    except csv.Error as exc:
        # e.g. a stray carriage return inside a field: the file itself is broken (the
        # reader counts the lines it finished; the broken one is the next)
        return [], [f"line {reader.line_num + 1}: not valid CSV ({exc}); export the file again"]


def _read_offers(
    reader: csv.DictReader[str], site_id: str, source: str
) -> tuple[list[OutreachOffer], list[str]]:
    offers, problems = [], []
    for line, row in enumerate(reader, start=2):
        try:
            offer = OutreachOffer.model_validate(
                {
                    "site_id": site_id,
                    "source": source,
                    "reason": {"category": row["reason_category"], "kind": row["reason_kind"]},
                    "worker": {
                        "staff_ref": row["staff_ref"] or None,
                        "name": row["name"],
                        "email": row["email"],
                    },
                }
            )
            if not offer.worker.email:
                raise ValueError("email is empty")
            _outreach_referral(offer)
        except (ValidationError, ValueError) as exc:
            problems.append(f"line {line}: {describe_problem(exc)}")
        except HTTPException as exc:
            problems.append(
                f"line {line}: {exc.detail['message'] if isinstance(exc.detail, dict) else exc.detail}"
            )
        else:
            offers.append(offer)
    return offers, problems


# --- the worker's own view -------------------------------------------------------------------


class WorkerView(BaseModel):
    referral_id: uuid.UUID
    status: CaseStatus
    offer_expires_at: datetime | None = None


MY_CASE_PAGE = Path(__file__).with_name("static") / "my-case.html"


@router.get("/my-case/page", response_class=HTMLResponse, tags=["worker"])
async def my_case_page() -> HTMLResponse:
    """The page the link in an offer opens: the worker accepts, declines or withdraws."""
    return HTMLResponse(MY_CASE_PAGE.read_text(), headers={"Cache-Control": "no-store"})


@router.get("/my-case", response_model=WorkerView, tags=["worker"])
async def get_my_case(request: Request, worker_token: WorkerToken) -> WorkerView:
    """The worker follows their own case with the private key they were given."""
    async with _uow(request)() as uow:
        try:
            return WorkerView(**await handlers.worker_view(uow, worker_token))
        except handlers.NotFound as exc:
            raise HTTPException(404, str(exc)) from None


async def _worker_step(request: Request, token: str, step: str) -> WorkerView:
    async with _uow(request)() as uow:
        try:
            if step == "withdraw":
                await handlers.withdraw_by_worker(uow, token)
            else:
                await handlers.answer_offer(uow, token, accept=step == "accept")
        except handlers.NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except LifecycleError as exc:
            raise _conflict(exc) from None
    async with _uow(request)() as uow:
        return WorkerView(**await handlers.worker_view(uow, token))


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


# --- the case, for coordinators and assigned supporters ---------------------------------------


async def _case_step(request: Request, call: Any) -> Any:
    async with _uow(request)() as uow:
        try:
            return await call(uow)
        except handlers.NotFound:
            raise HTTPException(404, NOT_YOURS) from None
        except LifecycleError as exc:
            raise _conflict(exc) from None


CaseWorker = Annotated[Principal, Depends(CASE_WORKER)]


@router.get("/referrals/{referral_id}", tags=["cases"])
async def get_referral(referral_id: uuid.UUID, request: Request, principal: CaseWorker) -> dict[str, Any]:
    """The case without personal data, for the site's coordinators and its supporters."""
    return await _case_step(request, lambda uow: handlers.case_summary(uow, referral_id, principal))  # type: ignore[no-any-return]


@router.get("/referrals/{referral_id}/contact", tags=["cases"])
async def get_contact(
    referral_id: uuid.UUID,
    request: Request,
    principal: CaseWorker,
    purpose: Annotated[str, Query(min_length=3, max_length=80, pattern=r"^[a-z_ -]+$")] = "call_back",
) -> dict[str, str | None]:
    """The worker's contact, for the person who must reach them. Every read is audited."""
    contact: Contact = await _case_step(
        request,
        lambda uow: handlers.read_contact(uow, referral_id, principal, purpose, request.app.state.vault),
    )
    return {"name": contact.name, "phone": contact.phone, "email": contact.email}


@router.get("/referrals/{referral_id}/access-log", tags=["cases"])
async def get_access_log(
    referral_id: uuid.UUID, request: Request, principal: CaseWorker
) -> list[dict[str, Any]]:
    """Who read this case's personal data, when and why."""
    return await _case_step(request, lambda uow: handlers.access_log(uow, referral_id, principal))  # type: ignore[no-any-return]


class Recorded(BaseModel):
    status: CaseStatus
    minutes_to_callback: int | None = None
    encounter: int | None = None


@router.post("/referrals/{referral_id}/contacted", response_model=Recorded, tags=["cases"])
async def post_contacted(referral_id: uuid.UUID, request: Request, principal: CaseWorker) -> Recorded:
    """The supporter reached the worker (service level: within 30 minutes)."""
    minutes = await _case_step(request, lambda uow: handlers.record_contacted(uow, referral_id, principal))
    return Recorded(status=CaseStatus.CONTACTED, minutes_to_callback=minutes)


@router.post("/referrals/{referral_id}/encounters", response_model=Recorded, tags=["cases"])
async def post_encounter(
    referral_id: uuid.UUID,
    request: Request,
    principal: CaseWorker,
    body: Annotated[Encounter | None, Body()] = None,
) -> Recorded:
    """A support encounter took place (service level: meet within 12 hours)."""
    minutes = body.duration_minutes if body else None
    encounter = await _case_step(
        request, lambda uow: handlers.record_encounter(uow, referral_id, principal, duration_minutes=minutes)
    )
    return Recorded(status=CaseStatus.MET, encounter=encounter)


@router.post("/referrals/{referral_id}/close", response_model=Recorded, tags=["cases"])
async def post_close(
    referral_id: uuid.UUID, body: Closing, request: Request, principal: CaseWorker
) -> Recorded:
    """Close with the minimal structured record; identifiers are purged after the retention period."""
    await _case_step(
        request,
        lambda uow: handlers.close_case(
            uow, referral_id, principal, contact_made=body.contact_made, outcome=body.outcome
        ),
    )
    return Recorded(status=CaseStatus.CLOSED)


@router.post("/referrals/{referral_id}/withdraw", response_model=Recorded, tags=["cases"])
async def post_withdraw(referral_id: uuid.UUID, request: Request, principal: CaseWorker) -> Recorded:
    """The worker told their supporter or coordinator they want to stop."""
    await _case_step(request, lambda uow: handlers.withdraw_for_worker(uow, referral_id, principal))
    return Recorded(status=CaseStatus.WITHDRAWN)


@router.post("/referrals/{referral_id}/confidentiality-exceptions", status_code=201, tags=["cases"])
async def post_exception(
    referral_id: uuid.UUID, body: ExceptionIn, request: Request, principal: CaseWorker
) -> None:
    """Record a deliberate step outside confidentiality (002), with its reason."""
    await _case_step(
        request,
        lambda uow: handlers.record_exception(
            uow, referral_id, principal, body.reason, worker_informed=body.worker_informed
        ),
    )


@router.get("/referrals/{referral_id}/confidentiality-exceptions", tags=["cases"])
async def get_exceptions(
    referral_id: uuid.UUID, request: Request, principal: CaseWorker
) -> list[dict[str, Any]]:
    return await _case_step(request, lambda uow: handlers.exceptions_of(uow, referral_id, principal))  # type: ignore[no-any-return]
