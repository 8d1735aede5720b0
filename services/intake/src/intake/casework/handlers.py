"""The case, for coordinators and the assigned supporters: who may see it, the contact read
(audited), encounters, closing, confidentiality exceptions."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from contracts.events import (
    ReferralClosed,
    ReferralContacted,
    ReferralMet,
)
from contracts.types import (
    CaseOutcome,
)
from servicekit.auth import Principal, Role
from servicekit.database import UnitOfWork
from servicekit.vault import PersonalDataVault

from intake import tables
from intake.casework.schemas import AccessRow, CaseSummary, ExceptionRow
from intake.common import NotFound, now
from intake.domain import (
    ENDED,
    CaseStatus,
    ConfidentialityException,
    Contact,
    LifecycleError,
    MessageStatus,
    check_transition,
    minutes_between,
)

# --- the case, for coordinators and the assigned supporters ---------------------------------


def _may_see_case(principal: Principal, row: Any) -> bool:
    if principal.has(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN) and principal.acts_for(str(row.site_id)):
        return True
    return (
        principal.has(Role.PEER_SUPPORTER)
        and principal.staff_ref is not None
        and principal.staff_ref in (row.supporters or [])
    )


def _acting_role(principal: Principal, row: Any) -> str:
    if principal.has(Role.SITE_COORDINATOR) and principal.acts_for(str(row.site_id)):
        return Role.SITE_COORDINATOR.value
    if principal.has(Role.AUTHORITY_ADMIN):
        return Role.AUTHORITY_ADMIN.value
    return Role.PEER_SUPPORTER.value


async def case_for(
    uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal, *, lock: bool = True
) -> Any:
    query = sa.select(tables.referral).where(tables.referral.c.referral_id == referral_id)
    row = (await uow.session.execute(query.with_for_update() if lock else query)).first()
    # someone who may not see a case cannot learn that it exists
    if row is None or not _may_see_case(principal, row):
        raise NotFound(referral_id)
    return row


def _summary(row: Any) -> CaseSummary:
    return CaseSummary(
        **{
            "referral_id": row.referral_id,
            "site_id": row.site_id,
            "path": row.path,
            "channel": row.channel,
            "reason_category": row.reason_category,
            "reason_kind": row.reason_kind,
            "urgency": row.urgency,
            "modality": row.modality,
            "tier": row.tier,
            "crisis": row.crisis,
            "group_size": row.group_size,
            "preferences": row.preferences,
            "status": row.status,
            "supporters": list(row.supporters or []),
            "submitted_at": row.submitted_at,
            "accepted_at": row.accepted_at,
            "contacted_at": row.contacted_at,
            "first_met_at": row.first_met_at,
            "encounters": row.encounters,
            "outcome": row.outcome,
            "ended_at": row.ended_at,
            "purged": row.purged_at is not None,
        }
    )


async def case_summary(uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal) -> CaseSummary:
    return _summary(await case_for(uow, referral_id, principal, lock=False))


async def site_cases(uow: UnitOfWork, site_id: str, *, open_only: bool) -> list[CaseSummary]:
    query = sa.select(tables.referral).where(tables.referral.c.site_id == site_id)
    if open_only:
        query = query.where(tables.referral.c.status.not_in([s.value for s in ENDED]))
    rows = (await uow.session.execute(query.order_by(tables.referral.c.submitted_at.desc()).limit(500))).all()
    return [_summary(r) for r in rows]


async def ended_cases(
    uow: UnitOfWork,
    site_id: str,
    *,
    since: datetime | None,
    until: datetime | None,
    outcome: str | None,
    id_prefix: str | None,
) -> list[CaseSummary]:
    """The site's ended cases (closed, withdrawn, declined), newest first: found by the
    start of their id, the period they ended in, or their outcome."""
    r = tables.referral
    query = sa.select(r).where(r.c.site_id == site_id, r.c.status.in_([s.value for s in ENDED]))
    if since is not None:
        query = query.where(r.c.ended_at >= since)
    if until is not None:
        query = query.where(r.c.ended_at < until)
    if outcome:
        query = query.where(r.c.outcome == outcome)
    if id_prefix:
        query = query.where(sa.cast(r.c.referral_id, sa.Text).startswith(id_prefix))
    rows = (await uow.session.execute(query.order_by(r.c.ended_at.desc().nulls_last()).limit(200))).all()
    return [_summary(row) for row in rows]


# how long an ended case stays in its supporter's list, to look back on what they recorded
ENDED_CASES_SHOWN = timedelta(days=30)


async def supporter_cases(uow: UnitOfWork, staff_ref: str) -> list[CaseSummary]:
    """The cases a supporter took: open ones first, newest first, then those that ended in
    the last 30 days. Categories and times only, as a coordinator's list."""
    r = tables.referral
    query = (
        sa.select(r)
        .where(r.c.supporters.contains([staff_ref]))
        .where(sa.or_(r.c.ended_at.is_(None), r.c.ended_at >= now() - ENDED_CASES_SHOWN))
        .order_by(r.c.ended_at.is_not(None), r.c.submitted_at.desc())
        .limit(200)
    )
    return [_summary(row) for row in (await uow.session.execute(query)).all()]


async def read_contact(
    uow: UnitOfWork,
    referral_id: uuid.UUID,
    principal: Principal,
    purpose: str,
    vault: PersonalDataVault,
) -> Contact:
    """Personal data for someone who must reach the worker; every read leaves an audit row."""
    row = await case_for(uow, referral_id, principal, lock=False)
    sealed = (
        await uow.session.execute(
            sa.select(tables.contact).where(tables.contact.c.referral_id == referral_id)
        )
    ).first()
    if sealed is None:
        raise NotFound(referral_id)  # purged after the retention period
    await uow.session.execute(
        sa.insert(tables.audit).values(
            actor=principal.subject,
            actor_role=_acting_role(principal, row),
            referral_id=referral_id,
            action="read_contact",
            purpose=purpose,
        )
    )
    return Contact(
        name=vault.open(sealed.name_sealed) or "",
        phone=vault.open(sealed.phone_sealed),
        email=vault.open(sealed.email_sealed),
    )


async def _records_of_case(
    uow: UnitOfWork, table: sa.Table, referral_id: uuid.UUID, principal: Principal, columns: list[str]
) -> list[dict[str, Any]]:
    """Rows a case keeps beside it (audit, exceptions), for someone who may see the case."""
    await case_for(uow, referral_id, principal, lock=False)
    query = sa.select(*(table.c[c] for c in columns)).where(table.c.referral_id == referral_id)
    rows = (await uow.session.execute(query.order_by(table.c.id))).all()
    return [dict(r._mapping) for r in rows]


async def access_log(uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal) -> list[AccessRow]:
    columns = ["at", "actor", "actor_role", "action", "purpose"]
    rows = await _records_of_case(uow, tables.audit, referral_id, principal, columns)
    return [AccessRow(**row) for row in rows]


async def record_contacted(uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal) -> int:
    row = await case_for(uow, referral_id, principal)
    check_transition(CaseStatus(row.status), CaseStatus.CONTACTED)
    at = now()
    minutes = minutes_between(row.accepted_at, at)
    await set_case(uow, referral_id, status=CaseStatus.CONTACTED.value, contacted_at=at)
    await uow.emit(
        ReferralContacted(referral_id=referral_id, site_id=row.site_id, minutes_to_callback=minutes)
    )
    return minutes


async def record_encounter(
    uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal, *, duration_minutes: int | None = None
) -> int:
    row = await case_for(uow, referral_id, principal)
    check_transition(CaseStatus(row.status), CaseStatus.MET)
    at = now()
    encounter = row.encounters + 1
    await set_case(
        uow,
        referral_id,
        status=CaseStatus.MET.value,
        encounters=encounter,
        first_met_at=row.first_met_at or at,
    )
    await uow.emit(
        ReferralMet(
            referral_id=referral_id,
            site_id=row.site_id,
            encounter=encounter,
            minutes_since_referral=minutes_between(row.accepted_at, at),
            duration_minutes=duration_minutes,
        )
    )
    return encounter


async def close_case(
    uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal, *, contact_made: bool, outcome: CaseOutcome
) -> None:
    """The minimal, structured closing record (001): no notes about the person."""
    row = await case_for(uow, referral_id, principal)
    check_transition(CaseStatus(row.status), CaseStatus.CLOSED)
    if contact_made != (outcome is not CaseOutcome.NO_CONTACT):
        raise LifecycleError(
            "outcome 'no_contact' goes with contact_made false, and every other outcome with true"
        )
    if contact_made and row.contacted_at is None:
        raise LifecycleError(
            "record the call back first (POST .../contacted), so the time to call back is kept"
        )
    at = now()
    await set_case(
        uow,
        referral_id,
        status=CaseStatus.CLOSED.value,
        ended_at=at,
        outcome=outcome.value,
        contact_made=contact_made,
    )
    await uow.emit(
        ReferralClosed(
            referral_id=referral_id,
            site_id=row.site_id,
            contact_made=contact_made,
            minutes_to_callback=minutes_between(row.accepted_at, row.contacted_at)
            if row.contacted_at
            else None,
            encounters=row.encounters,
            outcome=outcome,
        )
    )


async def record_exception(
    uow: UnitOfWork,
    referral_id: uuid.UUID,
    principal: Principal,
    reason: ConfidentialityException,
    *,
    worker_informed: bool,
) -> ExceptionRow:
    """A deliberate step outside confidentiality (002), by a coordinator or the supporter,
    while the case is open (an ended case records nothing more)."""
    row = await case_for(uow, referral_id, principal, lock=False)
    if CaseStatus(row.status) in ENDED:
        raise LifecycleError(f"the case is already {row.status}; nothing more can be recorded")
    e = tables.confidentiality_exception
    recorded = await uow.session.execute(
        sa.insert(e)
        .values(
            referral_id=referral_id,
            reason=reason.value,
            recorded_by=principal.subject,
            worker_informed=worker_informed,
        )
        .returning(e.c.reason, e.c.recorded_by, e.c.worker_informed, e.c.at)
    )
    return ExceptionRow(**recorded.one()._mapping)


async def exceptions_of(uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal) -> list[ExceptionRow]:
    columns = ["reason", "recorded_by", "worker_informed", "at"]
    rows = await _records_of_case(uow, tables.confidentiality_exception, referral_id, principal, columns)
    return [ExceptionRow(**row) for row in rows]


async def set_case(uow: UnitOfWork, referral_id: uuid.UUID, **values: Any) -> None:
    await uow.session.execute(
        sa.update(tables.referral)
        .where(tables.referral.c.referral_id == referral_id)
        .values(updated_at=now(), **values)
    )


async def cancel_messages(uow: UnitOfWork, referral_id: uuid.UUID) -> None:
    await uow.session.execute(
        sa.update(tables.worker_message)
        .where(
            tables.worker_message.c.referral_id == referral_id,
            tables.worker_message.c.status == MessageStatus.PENDING,
        )
        .values(status=MessageStatus.CANCELLED, to_sealed=None, body_sealed=None)
    )
