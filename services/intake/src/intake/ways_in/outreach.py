"""Outreach offers: one at a time, or a CSV from an authority's list (each line checked on
its own)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Annotated, Any, Literal

from contracts.types import (
    ConnectionPath,
    Modality,
    OfferSource,
    SiteId,
)
from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from pydantic import (
    BaseModel,
    ValidationError,
)
from servicekit.api import describe_problem, unit_of_work
from servicekit.auth import Principal, Role, ensure_site, requires

from intake.domain import (
    CaseStatus,
    Referral,
    ReferralRejected,
)
from intake.ways_in import handlers as new_cases
from intake.ways_in.routes import IdempotencyKey, new_referral
from intake.web import Answer, OutreachOffer, unprocessable

router = APIRouter()


def _outreach_referral(offer: OutreachOffer) -> Referral:
    return new_referral(
        offer.site_id,
        ConnectionPath.PROACTIVE,
        offer.reason,
        offer.urgency,
        Modality.EITHER,
        worker=offer.worker.staff_ref,
    )


async def _offer(
    request: Request, uow: Any, offer: OutreachOffer, key: new_cases.Idempotency | None
) -> new_cases.Submission:
    settings = request.app.state.settings
    return await new_cases.offer_case(
        uow,
        _outreach_referral(offer),
        offer.worker.contact(),
        request.app.state.vault,
        OfferSource(offer.source),
        channel="integration",
        expires_after=timedelta(days=settings.offer_expires_after_days),
        portal_url=settings.worker_portal_url,
        idempotency=key,
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
        async with unit_of_work(request)() as uow:
            result = await _offer(request, uow, body, idempotency)
    except (ReferralRejected, new_cases.OutreachNotOffered, new_cases.IdempotencyMismatch) as exc:
        raise unprocessable(str(exc)) from None
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
        raise unprocessable("nothing was imported. " + "; ".join(problems[:20]))
    if not offers:
        raise unprocessable(f"the file has no rows; expected the columns: {', '.join(CSV_COLUMNS)}")
    ids = []
    try:
        async with unit_of_work(request)() as uow:
            for offer in offers:
                ids.append((await _offer(request, uow, offer, None)).referral_id)
    except (ReferralRejected, new_cases.OutreachNotOffered) as exc:
        raise unprocessable(f"nothing was imported. {exc}") from None
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
