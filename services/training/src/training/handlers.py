"""training's use cases, as plain functions over a unit of work."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from contracts.events import CertificationGranted, SupporterEligibilityChanged
from contracts.types import SupportTier
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert

from training import tables as t
from training.eligibility import expiry, verdict


class UnknownRecord(LookupError):
    pass


async def upsert_course(
    uow: UnitOfWork, code: str, title: str, validity_days: int | None, required: bool
) -> None:
    values = {"title": title, "validity_days": validity_days, "required": required}
    stmt = insert(t.course).values(code=code, **values)
    await uow.session.execute(stmt.on_conflict_do_update(index_elements=["code"], set_=values))
    await uow.commit()


async def upsert_supporter(uow: UnitOfWork, staff_ref: str, home_site: str, active: bool, tier: int) -> None:
    values = {"home_site": home_site, "active": active, "tier": tier}
    stmt = insert(t.supporter).values(staff_ref=staff_ref, **values)
    await uow.session.execute(stmt.on_conflict_do_update(index_elements=["staff_ref"], set_=values))
    await refresh_eligibility(uow, staff_ref, today=datetime.now(UTC).date())
    await uow.commit()


async def record_completion(uow: UnitOfWork, staff_ref: str, course: str, completed_on: date) -> date | None:
    row = (await uow.session.execute(sa.select(t.course).where(t.course.c.code == course))).first()
    if row is None:
        raise UnknownRecord(f"course '{course}' is not in the catalogue")
    known = await uow.session.scalar(
        sa.select(t.supporter.c.staff_ref).where(t.supporter.c.staff_ref == staff_ref)
    )
    if known is None:
        raise UnknownRecord(f"supporter '{staff_ref}' is not registered with training")
    expires_on = expiry(completed_on, row.validity_days)
    await uow.session.execute(
        sa.insert(t.certification).values(
            staff_ref=staff_ref, course=course, completed_on=completed_on, expires_on=expires_on
        )
    )
    home = await uow.session.scalar(
        sa.select(t.supporter.c.home_site).where(t.supporter.c.staff_ref == staff_ref)
    )
    await uow.emit(
        CertificationGranted(
            supporter=staff_ref, course=course, completed_on=completed_on, expires_on=expires_on
        ),
        site_id=str(home),
    )
    await refresh_eligibility(uow, staff_ref, today=datetime.now(UTC).date())
    await uow.commit()
    return expires_on


async def refresh_eligibility(uow: UnitOfWork, staff_ref: str, *, today: date) -> None:
    """Recompute a supporter's eligibility; publish it when it changed (or was never said)."""
    s = (
        await uow.session.execute(
            sa.select(t.supporter).where(t.supporter.c.staff_ref == staff_ref).with_for_update()
        )
    ).one()
    required = (await uow.session.scalars(sa.select(t.course.c.code).where(t.course.c.required))).all()
    latest = (
        await uow.session.execute(
            sa.select(
                t.certification.c.course,
                sa.func.max(sa.func.coalesce(t.certification.c.expires_on, date.max)),
            )
            .where(t.certification.c.staff_ref == staff_ref)
            .group_by(t.certification.c.course)
        )
    ).all()
    current = {course: (None if expires == date.max else expires) for course, expires in latest}
    result = verdict(active=s.active, required=required, current=current, today=today)
    if s.eligible is result.eligible:
        return
    version = s.eligibility_version + 1
    await uow.session.execute(
        sa.update(t.supporter)
        .where(t.supporter.c.staff_ref == staff_ref)
        .values(eligible=result.eligible, eligibility_version=version)
    )
    await uow.emit(
        SupporterEligibilityChanged(
            supporter=staff_ref,
            home_site=s.home_site,
            eligible=result.eligible,
            tier=SupportTier(s.tier),
            missing_courses=list(result.missing),
            version=version,
        ),
        site_id=s.home_site,
    )
