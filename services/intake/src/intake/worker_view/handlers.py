"""The worker's own view: by token, without an account."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from contracts.events import (
    ReferralDeclined,
    ReferralWithdrawn,
)
from contracts.types import (
    ConnectionPath,
    Gender,
    Modality,
    OfferEnd,
    ReasonCategory,
    ReasonKind,
    Urgency,
)
from servicekit.auth import Principal
from servicekit.database import UnitOfWork

from intake import tables
from intake.casework.handlers import cancel_messages, case_for, set_case
from intake.common import NotFound, now
from intake.domain import (
    CaseStatus,
    LifecycleError,
    Referral,
    check_transition,
    token_digest,
    withdrawal_stage,
)

# --- the worker's own view: by token, without an account -----------------------------------


async def _case_by_token(uow: UnitOfWork, token: str) -> Any:
    row = (
        await uow.session.execute(
            sa.select(tables.referral)
            .where(tables.referral.c.worker_token_digest == token_digest(token))
            .with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound("no case for this link; it may have ended and been erased")
    return row


async def worker_view(uow: UnitOfWork, token: str) -> dict[str, Any]:
    row = await _case_by_token(uow, token)
    return {
        "referral_id": row.referral_id,
        "status": row.status,
        "offer_expires_at": row.offer_expires_at if row.status == CaseStatus.OFFERED else None,
    }


def _referral_of(row: Any) -> Referral:
    preferences = row.preferences or {}
    return Referral(
        id=row.referral_id,
        site_id=row.site_id,
        path=ConnectionPath(row.path),
        reason_category=ReasonCategory(row.reason_category),
        reason_kind=ReasonKind(row.reason_kind),
        urgency=Urgency(row.urgency),
        modality=Modality(row.modality),
        submitted_at=row.submitted_at,
        worker=row.worker_ref,
        imminent_risk=row.crisis,
        excluded_supporters=list(row.excluded_supporters),
        prefers_same_profession=preferences.get("same_profession"),
        preferred_gender=Gender(preferences["gender"]) if preferences.get("gender") else None,
        prefers_other_site=bool(preferences.get("other_site")),
        languages=list(preferences.get("languages") or []),
        group_size=row.group_size,
        status=CaseStatus(row.status),
    )


async def answer_offer(uow: UnitOfWork, token: str, *, accept: bool) -> CaseStatus:
    row = await _case_by_token(uow, token)
    current = CaseStatus(row.status)
    to = CaseStatus.SUBMITTED if accept else CaseStatus.DECLINED
    check_transition(current, to)
    at = now()
    if accept:
        await set_case(uow, row.referral_id, status=to.value, accepted_at=at)
        await uow.emit(_referral_of(row).submitted_event(), site_id=row.site_id)
    else:
        await end_offer(uow, row, OfferEnd.DECLINED, at)
    return to


async def end_offer(uow: UnitOfWork, row: Any, ended: OfferEnd, at: datetime) -> None:
    """The offer ends without a case: its unsent mail is dropped, nobody reaches out."""
    await set_case(uow, row.referral_id, status=CaseStatus.DECLINED.value, ended_at=at)
    await cancel_messages(uow, row.referral_id)
    await uow.emit(
        ReferralDeclined(
            referral_id=row.referral_id, site_id=row.site_id, path=ConnectionPath(row.path), ended=ended
        )
    )


async def withdraw_by_worker(uow: UnitOfWork, token: str) -> None:
    row = await _case_by_token(uow, token)
    await _withdraw(uow, row)


async def withdraw_for_worker(uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal) -> None:
    """A coordinator or the assigned supporter records the worker's wish to stop."""
    row = await case_for(uow, referral_id, principal)
    await _withdraw(uow, row)


async def _withdraw(uow: UnitOfWork, row: Any) -> None:
    current = CaseStatus(row.status)
    if current is CaseStatus.OFFERED:
        raise LifecycleError("this is an offer: decline it instead")
    stage = withdrawal_stage(current)
    await set_case(uow, row.referral_id, status=CaseStatus.WITHDRAWN.value, ended_at=now())
    await uow.emit(ReferralWithdrawn(referral_id=row.referral_id, site_id=row.site_id, stage=stage))
