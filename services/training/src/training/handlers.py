"""training's use cases, as plain functions over a unit of work."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from contracts.events import (
    CertificationExpired,
    CertificationExpiring,
    CertificationGranted,
    SupporterEligibilityChanged,
)
from contracts.types import SupportTier
from servicekit.database import UnitOfWork, UnitOfWorkFactory
from servicekit.timers import claim_due
from sqlalchemy.dialects.postgresql import insert

from training import tables as t
from training.eligibility import expiry, reminders_due, verdict


@dataclass(frozen=True)
class TrainingPolicy:
    time_zone: str = "America/Toronto"
    reminder_days: tuple[float, ...] = field(default=(60.0, 30.0, 7.0))

    def start_of(self, day: date) -> datetime:
        """A completion given as a date counts from midnight at the authority."""
        return datetime.combine(day, time(0), tzinfo=ZoneInfo(self.time_zone))


NEVER = datetime.max.replace(tzinfo=UTC)  # the expiry of a course that does not expire


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
    await refresh_eligibility(uow, staff_ref, now=datetime.now(UTC))
    await uow.commit()


async def record_completion(
    uow: UnitOfWork,
    staff_ref: str,
    course: str,
    completed_at: datetime,
    policy: TrainingPolicy,
) -> datetime | None:
    """A completion (first or renewal): its expiry and reminders become timers, and the
    timers of the course's earlier certification are cancelled (the renewal supersedes it)."""
    row = (await uow.session.execute(sa.select(t.course).where(t.course.c.code == course))).first()
    if row is None:
        raise UnknownRecord(f"course '{course}' is not in the catalogue")
    known = await uow.session.scalar(
        sa.select(t.supporter.c.staff_ref).where(t.supporter.c.staff_ref == staff_ref)
    )
    if known is None:
        raise UnknownRecord(f"supporter '{staff_ref}' is not registered with training")
    now = datetime.now(UTC)
    expires_at = expiry(completed_at, row.validity_days)
    zone = ZoneInfo(policy.time_zone)
    completed_on = completed_at.astimezone(zone).date()
    expires_on = expires_at.astimezone(zone).date() if expires_at else None
    earlier = sa.select(t.certification.c.certification_id).where(
        t.certification.c.staff_ref == staff_ref, t.certification.c.course == course
    )
    await uow.session.execute(
        sa.update(t.timer)
        .where(
            t.timer.c.certification_id.in_(earlier),
            t.timer.c.fired_at.is_(None),
            t.timer.c.cancelled_at.is_(None),
        )
        .values(cancelled_at=now)
    )
    certification_id = await uow.session.scalar(
        sa.insert(t.certification)
        .values(
            staff_ref=staff_ref,
            course=course,
            completed_on=completed_on,
            expires_on=expires_on,
            completed_at=completed_at,
            expires_at=expires_at,
        )
        .returning(t.certification.c.certification_id)
    )
    if expires_at is not None:
        await uow.session.execute(
            sa.insert(t.timer).values(certification_id=certification_id, kind="expiry", due_at=expires_at)
        )
        for days_before, due in reminders_due(expires_at, policy.reminder_days, now):
            await uow.session.execute(
                sa.insert(t.timer).values(
                    certification_id=certification_id, kind="reminder", days_before=days_before, due_at=due
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
    await refresh_eligibility(uow, staff_ref, now=now)
    await uow.commit()
    return expires_at


async def refresh_eligibility(uow: UnitOfWork, staff_ref: str, *, now: datetime) -> None:
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
                sa.func.max(sa.func.coalesce(t.certification.c.expires_at, NEVER)),
            )
            .where(t.certification.c.staff_ref == staff_ref)
            .group_by(t.certification.c.course)
        )
    ).all()
    current = {course: (None if expires == NEVER else expires) for course, expires in latest}
    result = verdict(active=s.active, required=required, current=current, today=now)
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


async def fire_due_timers(uow: UnitOfWork, *, limit: int = 50) -> int:
    """A certification lapses at its moment (eligibility is recomputed and published);
    a reminder is published for oncall to send. Each acts exactly once, across restarts
    too (servicekit.timers)."""
    now = datetime.now(UTC)
    due = await claim_due(uow.session, t.timer, now, limit=limit)
    for timer_row in due:
        timer = (
            await uow.session.execute(
                sa.select(
                    t.timer.c.kind,
                    t.timer.c.days_before,
                    t.certification.c.staff_ref,
                    t.certification.c.course,
                    t.certification.c.expires_at,
                    t.supporter.c.home_site,
                )
                .join(t.certification, t.certification.c.certification_id == t.timer.c.certification_id)
                .join(t.supporter, t.supporter.c.staff_ref == t.certification.c.staff_ref)
                .where(t.timer.c.timer_id == timer_row.timer_id)
            )
        ).one()
        home = timer.home_site
        if timer.kind == "expiry":
            await uow.emit(
                CertificationExpired(
                    supporter=timer.staff_ref, course=timer.course, expired_on=timer.expires_at.date()
                ),
                site_id=home,
            )
            await refresh_eligibility(uow, timer.staff_ref, now=now)
        else:
            await uow.emit(
                CertificationExpiring(
                    supporter=timer.staff_ref,
                    home_site=home,
                    course=timer.course,
                    expires_at=timer.expires_at,
                    days_before=timer.days_before,
                ),
                site_id=home,
            )
    await uow.commit()
    return len(due)


async def fire_due_timers_once(uow: UnitOfWorkFactory) -> int:
    async with uow() as unit:
        return await fire_due_timers(unit)
