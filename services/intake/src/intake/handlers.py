"""intake's use cases, as plain functions over a unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import MatchProposed, PageAcknowledged
from servicekit.auth import Principal, Role
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert

from intake import tables
from intake.domain import CaseStatus, Contact, Referral, ReferralRejected
from intake.vault import PersonalDataVault


class NotFound(LookupError):
    pass


async def upsert_site(uow: UnitOfWork, site_id: str, display_name: str) -> None:
    stmt = insert(tables.site).values(site_id=site_id, display_name=display_name)
    await uow.session.execute(
        stmt.on_conflict_do_update(index_elements=["site_id"], set_={"display_name": display_name})
    )
    await uow.commit()


@dataclass(frozen=True)
class Submission:
    referral_id: uuid.UUID
    created: bool


async def submit_referral(
    uow: UnitOfWork,
    referral: Referral,
    contact: Contact,
    vault: PersonalDataVault,
    idempotency_key: str | None,
) -> Submission:
    """Store the case and its sealed contact, and emit ``referral submitted``, atomically.

    The same Idempotency-Key returns the first case instead of creating another."""
    known = await uow.session.scalar(
        sa.select(tables.site.c.site_id).where(tables.site.c.site_id == referral.site_id)
    )
    if known is None:
        raise ReferralRejected(f"site_id '{referral.site_id}' is not a site of this authority")

    # ON CONFLICT, not check-then-insert: two concurrent retries with one key make one case
    inserted = await uow.session.scalar(
        insert(tables.referral)
        .values(
            referral_id=referral.id,
            site_id=referral.site_id,
            path=referral.path.value,
            reason_category=referral.reason_category.value,
            reason_kind=referral.reason_kind.value,
            urgency=referral.urgency.value,
            modality=referral.modality.value,
            tier=int(referral.tier),
            crisis=referral.imminent_risk,
            worker_ref=referral.worker,
            excluded_supporters=referral.excluded_supporters,
            status=referral.status.value,
            submitted_at=referral.submitted_at,
            updated_at=referral.submitted_at,
            idempotency_key=idempotency_key,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(tables.referral.c.referral_id)
    )
    if inserted is None:
        # only the idempotency key can conflict (the referral id is new): the case exists
        existing = await uow.session.scalar(
            sa.select(tables.referral.c.referral_id).where(
                tables.referral.c.idempotency_key == idempotency_key
            )
        )
        assert existing is not None
        return Submission(existing, created=False)
    await uow.session.execute(
        sa.insert(tables.contact).values(
            referral_id=referral.id,
            name_sealed=vault.seal(contact.name),
            phone_sealed=vault.seal(contact.phone),
            email_sealed=vault.seal(contact.email),
        )
    )
    await uow.emit(referral.submitted_event(), site_id=referral.site_id)
    await uow.commit()
    return Submission(referral.id, created=True)


async def case_summary(uow: UnitOfWork, referral_id: uuid.UUID, principal: Principal) -> dict[str, object]:
    row = (
        await uow.session.execute(
            sa.select(tables.referral).where(tables.referral.c.referral_id == referral_id)
        )
    ).first()
    if row is None or not _may_see_case(principal, row):
        raise NotFound(referral_id)
    return {
        "referral_id": row.referral_id,
        "site_id": row.site_id,
        "path": row.path,
        "reason_category": row.reason_category,
        "reason_kind": row.reason_kind,
        "urgency": row.urgency,
        "modality": row.modality,
        "tier": row.tier,
        "crisis": row.crisis,
        "status": row.status,
        "assigned_supporter": row.assigned_supporter,
        "submitted_at": row.submitted_at,
    }


async def read_contact(
    uow: UnitOfWork,
    referral_id: uuid.UUID,
    principal: Principal,
    purpose: str,
    vault: PersonalDataVault,
) -> Contact:
    """Personal data for someone who must reach the worker; every read leaves an audit row."""
    row = (
        await uow.session.execute(
            sa.select(tables.referral).where(tables.referral.c.referral_id == referral_id)
        )
    ).first()
    if row is None or not _may_see_case(principal, row):
        raise NotFound(referral_id)
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
    await uow.commit()
    return Contact(
        name=vault.open(sealed.name_sealed) or "",
        phone=vault.open(sealed.phone_sealed),
        email=vault.open(sealed.email_sealed),
    )


def _may_see_case(principal: Principal, row: sa.Row[tuple[object, ...]]) -> bool:
    if principal.has(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN) and principal.acts_for(str(row.site_id)):
        return True
    return (
        principal.has(Role.PEER_SUPPORTER)
        and principal.staff_ref is not None
        and principal.staff_ref == row.assigned_supporter
    )


def _acting_role(principal: Principal, row: sa.Row[tuple[object, ...]]) -> str:
    if principal.has(Role.SITE_COORDINATOR) and principal.acts_for(str(row.site_id)):
        return Role.SITE_COORDINATOR.value
    if principal.has(Role.AUTHORITY_ADMIN):
        return Role.AUTHORITY_ADMIN.value
    return Role.PEER_SUPPORTER.value


# --- what intake learns from the other services -------------------------------------


async def on_match_proposed(event: MatchProposed, uow: UnitOfWork, _envelope: Envelope) -> None:
    await _advance(uow, event.referral_id, CaseStatus.MATCHED, from_statuses=[CaseStatus.SUBMITTED])


async def on_page_acknowledged(event: PageAcknowledged, uow: UnitOfWork, _envelope: Envelope) -> None:
    # the supporter who took the page is assigned: only they (and the coordinators) may
    # read the worker's contact to call back
    await uow.session.execute(
        sa.update(tables.referral)
        .where(tables.referral.c.referral_id == event.referral_id)
        .values(assigned_supporter=event.recipient, updated_at=datetime.now(UTC))
    )


async def _advance(
    uow: UnitOfWork, referral_id: uuid.UUID, to: CaseStatus, *, from_statuses: list[CaseStatus]
) -> None:
    await uow.session.execute(
        sa.update(tables.referral)
        .where(tables.referral.c.referral_id == referral_id)
        .where(tables.referral.c.status.in_([s.value for s in from_statuses]))
        .values(status=to.value, updated_at=datetime.now(UTC))
    )
