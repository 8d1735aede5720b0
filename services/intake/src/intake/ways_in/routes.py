"""Every way a worker reaches the program: their own request, a manager's, a colleague's
concern, occupational health, a group activation."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from contracts.types import (
    ConnectionPath,
    Modality,
    OfferSource,
    ReasonCategory,
    ReasonKind,
    Urgency,
)
from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response, status
from servicekit.api import unit_of_work
from servicekit.auth import Principal, Role, ensure_site, requires

from intake.domain import (
    CRISIS_ANSWER,
    HR_ANSWER,
    CaseStatus,
    Contact,
    HrMatter,
    Referral,
    ReferralRejected,
)
from intake.sites.routes import site_resources
from intake.ways_in import handlers as new_cases
from intake.web import (
    Answer,
    ColleagueConcern,
    EapReferral,
    GroupActivation,
    ManagerReferral,
    Preferences,
    Reason,
    SelfReferral,
    unprocessable,
)

router = APIRouter()


def new_referral(
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
        raise unprocessable("reason: an HR matter is not a kind of " + str(reason.category))
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
        raise unprocessable(str(exc)) from None


# what a case records when someone at imminent risk named an HR matter: the crisis is what
# the program answers, and the HR matter is not written down anywhere
CRISIS_OVER_HR = Reason(category=ReasonCategory.WORK_STRESS, kind=ReasonKind.CUMULATIVE_STRESS)


async def _referral_or_hr_answer(
    request: Request,
    response: Response,
    body: SelfReferral | ColleagueConcern | EapReferral | ManagerReferral,
    path: ConnectionPath,
    *,
    worker: str | None,
    crisis: bool = False,
) -> Referral | Answer:
    """The referral a way in makes, or, for an HR matter, the kind answer with where to go
    instead and no case. Someone at imminent risk gets a case whatever the reason."""
    reason = body.reason
    if reason.category == "hr_matter":
        if not isinstance(reason.kind, HrMatter):
            raise unprocessable(
                f"reason.kind of an hr_matter is one of: {', '.join(h.value for h in HrMatter)}"
            )
        if not crisis:
            resources = await site_resources(request, body.site_id)
            response.status_code = status.HTTP_200_OK
            return Answer(case_created=False, message=HR_ANSWER, resources=resources.hr_resources)
        reason = CRISIS_OVER_HR
    return new_referral(
        body.site_id,
        path,
        reason,
        body.urgency,
        body.modality,
        worker=worker,
        preferences=getattr(body, "preferences", None),
        **(
            {"imminent_risk": body.imminent_risk, "excluded_supporters": body.excluded_supporters}
            if isinstance(body, SelfReferral)
            else {}
        ),
    )


async def _submit(
    request: Request,
    referral: Referral,
    contact: Contact,
    details: new_cases.CaseDetails,
    idempotency: new_cases.Idempotency | None,
    *,
    give_worker_token: bool = True,
) -> new_cases.Submission:
    try:
        async with unit_of_work(request)() as uow:
            return await new_cases.submit_case(
                uow,
                referral,
                contact,
                request.app.state.vault,
                details,
                idempotency,
                give_worker_token=give_worker_token,
            )
    except (ReferralRejected, new_cases.IdempotencyMismatch) as exc:
        raise unprocessable(str(exc)) from None


async def _idempotency(
    request: Request, idempotency_key: Annotated[str | None, Header(max_length=200)] = None
) -> new_cases.Idempotency | None:
    """The caller's Idempotency-Key with a digest of what it came with (the path and the
    body as JSON, key order aside), so a key names one request and no other."""
    if idempotency_key is None:
        return None
    try:
        body: Any = json.loads(await request.body() or b"null")
    except ValueError:
        body = (await request.body()).hex()  # not JSON: the route's own validation answers
    canonical = json.dumps([request.url.path, body], sort_keys=True, separators=(",", ":"))
    return new_cases.Idempotency(idempotency_key, hashlib.sha256(canonical.encode()).hexdigest())


IdempotencyKey = Annotated[new_cases.Idempotency | None, Depends(_idempotency)]
SUBMITTED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Answer, "description": "Answered, and no case created (an HR matter; no outreach here)"},
    202: {"model": Answer, "description": "A case was created"},
}
# what every way in a case can be made through answers
WAY_IN: dict[str, Any] = {
    "status_code": 202,
    "response_model": Answer,
    "responses": SUBMITTED_RESPONSES,
    "tags": ["ways in"],
}


@router.post("/referrals", **WAY_IN)
async def post_self_referral(
    body: SelfReferral, request: Request, response: Response, idempotency: IdempotencyKey
) -> Answer:
    """A worker asks for support: the web form, or the phone-line and pager integrations.
    Nothing is stored unless the whole request is valid."""
    referral = await _referral_or_hr_answer(
        request, response, body, ConnectionPath.SELF, worker=body.worker.staff_ref, crisis=body.imminent_risk
    )
    if isinstance(referral, Answer):
        return referral
    result = await _submit(
        request,
        referral,
        body.worker.contact(),
        new_cases.CaseDetails(
            channel=body.channel, crisis_reported_by="worker" if body.imminent_risk else None
        ),
        idempotency,
    )
    return await _submitted(request, body.site_id, result, crisis=body.imminent_risk)


async def _submitted(
    request: Request,
    site_id: str,
    result: new_cases.Submission,
    *,
    crisis: bool = False,
    message: str | None = None,
) -> Answer:
    if crisis:
        resources = await site_resources(request, site_id)
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


@router.post("/referrals/manager", **WAY_IN)
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
    referral = await _referral_or_hr_answer(
        request, response, body, ConnectionPath.MANAGER, worker=body.worker.staff_ref
    )
    if isinstance(referral, Answer):
        return referral
    settings = request.app.state.settings
    requester = principal.staff_ref or principal.subject
    try:
        async with unit_of_work(request)() as uow:
            await new_cases.check_offer_rate(uow, requester, settings.offers_per_requester_per_hour)
            result = await new_cases.offer_case(
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
    except new_cases.TooManyOffers as exc:
        raise HTTPException(429, {"message": str(exc)}, headers={"Retry-After": "3600"}) from None
    except (ReferralRejected, new_cases.IdempotencyMismatch) as exc:
        raise unprocessable(str(exc)) from None
    except new_cases.OutreachNotOffered as exc:
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


@router.post("/referrals/colleague", **WAY_IN)
async def post_colleague_concern(
    body: ColleagueConcern, request: Request, response: Response, idempotency: IdempotencyKey
) -> Answer:
    """A worker worried about a colleague. The program supports the caller; nobody reaches
    out to the colleague without their consent."""
    referral = await _referral_or_hr_answer(
        request, response, body, ConnectionPath.COLLEAGUE, worker=body.caller.staff_ref
    )
    if isinstance(referral, Answer):
        return referral
    result = await _submit(
        request, referral, body.caller.contact(), new_cases.CaseDetails(channel="web_form"), idempotency
    )
    return await _submitted(
        request,
        body.site_id,
        result,
        message="Thank you for looking out for your colleague. A trained peer supporter will call you, "
        "to support you in helping them. Nobody will contact your colleague without their consent.",
    )


@router.post("/referrals/eap", **WAY_IN)
async def post_eap_referral(
    body: EapReferral,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(requires(Role.OCCUPATIONAL_HEALTH, Role.SERVICE))],
    idempotency: IdempotencyKey,
) -> Answer:
    """An EAP or occupational-health referral, only with the worker's recorded consent."""
    referral = await _referral_or_hr_answer(
        request, response, body, ConnectionPath.EAP, worker=body.worker.staff_ref
    )
    if isinstance(referral, Answer):
        return referral
    if body.consent.given_at > datetime.now(UTC) + timedelta(minutes=5):
        raise unprocessable("consent.given_at is in the future; record when the worker actually consented")
    consent = {
        "method": body.consent.method,
        "given_at": body.consent.given_at,
        "recorded_by": principal.subject,
    }
    result = await _submit(
        request,
        referral,
        body.worker.contact(),
        new_cases.CaseDetails(channel="integration", consent=consent),
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
    referral = new_referral(
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
        new_cases.CaseDetails(
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
