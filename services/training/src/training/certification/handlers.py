"""Courses, completions and certifications: each supporter's eligibility recomputed and
published when it changes; expiries and reminders as timers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from contracts.events import (
    CertificationExpired,
    CertificationExpiring,
    CertificationGranted,
    SupporterEligibilityChanged,
)
from contracts.types import SupportTier
from servicekit import timers
from servicekit.database import UnitOfWork
from servicekit.timers import claim_due
from sqlalchemy.dialects.postgresql import insert

from training import tables as t
from training.certification.schemas import Course
from training.common import NEVER, Conflict, TimerKind, TrainingPolicy, UnknownRecord
from training.eligibility import Verdict, expiry, reminders_due, verdict
from training.recruitment import CLOSED, Stage
from training.sites import require_site


async def upsert_course(
    uow: UnitOfWork, code: str, title: str, validity_days: int | None, required: bool
) -> None:
    values = {"title": title, "validity_days": validity_days, "required": required}
    stmt = insert(t.course).values(code=code, **values)
    await uow.session.execute(stmt.on_conflict_do_update(index_elements=["code"], set_=values))


async def courses(uow: UnitOfWork) -> list[Course]:
    rows = await uow.session.execute(
        sa.select(t.course).order_by(sa.desc(t.course.c.required), t.course.c.code)
    )
    return [Course(**r._mapping) for r in rows.all()]


async def upsert_supporter(uow: UnitOfWork, staff_ref: str, home_site: str, active: bool, tier: int) -> None:
    await require_site(uow, home_site)
    if active:
        # someone being recruited becomes a supporter by recruitment's own steps (references,
        # interviews, agreement, training), never by being registered as one
        stage = await uow.session.scalar(
            sa.select(t.candidacy.c.stage).where(
                t.candidacy.c.staff_ref == staff_ref,
                t.candidacy.c.stage.not_in([*CLOSED, Stage.ACTIVE]),
            )
        )
        if stage is not None:
            raise Conflict(
                f"'{staff_ref}' is being recruited (at '{stage}'): they become active through"
                " recruitment's activation, once every step is done"
            )
    moved = await uow.session.scalar(
        sa.select(t.supporter.c.home_site != home_site).where(t.supporter.c.staff_ref == staff_ref)
    )
    values = {"home_site": home_site, "active": active, "tier": tier}
    stmt = insert(t.supporter).values(staff_ref=staff_ref, **values)
    await uow.session.execute(stmt.on_conflict_do_update(index_elements=["staff_ref"], set_=values))
    # a move is news to oncall (whose schedule it may join) even when eligibility is unchanged
    await refresh_eligibility(uow, staff_ref, now=datetime.now(UTC), moved=bool(moved))


@dataclass(frozen=True)
class Recorded:
    expires_at: datetime | None
    new: bool  # False: the same completion was recorded before (a repeat or a re-import)


async def record_completion(
    uow: UnitOfWork, staff_ref: str, course: str, completed_at: datetime, policy: TrainingPolicy
) -> Recorded:
    recorded = await _record_completion(uow, staff_ref, course, completed_at, policy, now=datetime.now(UTC))
    return recorded


async def _record_completion(
    uow: UnitOfWork,
    staff_ref: str,
    course: str,
    completed_at: datetime,
    policy: TrainingPolicy,
    *,
    now: datetime,
) -> Recorded:
    """A completion (first, renewal, or an old one from an import). The newest
    certification of a course owns the timers: its expiry and reminders become timers and
    the earlier ones' are cancelled; an older one recorded late sets none."""
    home = await uow.session.scalar(
        sa.select(t.supporter.c.home_site).where(t.supporter.c.staff_ref == staff_ref).with_for_update()
    )
    if home is None:
        raise UnknownRecord(f"supporter '{staff_ref}' is not registered with training")
    validity = await uow.session.execute(sa.select(t.course.c.validity_days).where(t.course.c.code == course))
    row = validity.first()
    if row is None:
        raise UnknownRecord(f"course '{course}' is not in the catalogue")
    expires_at = expiry(completed_at, row.validity_days)
    same_course = (t.certification.c.staff_ref == staff_ref, t.certification.c.course == course)
    before = await uow.session.execute(
        sa.select(t.certification.c.expires_at).where(
            *same_course, t.certification.c.completed_at == completed_at
        )
    )
    if (earlier_record := before.first()) is not None:
        return Recorded(earlier_record.expires_at, new=False)
    ends = sa.func.coalesce(t.certification.c.expires_at, NEVER)
    superseded = await uow.session.scalar(
        sa.select(sa.func.count()).where(*same_course, ends > (expires_at or NEVER))
    )
    zone = ZoneInfo(policy.time_zone)
    completed_on = completed_at.astimezone(zone).date()
    expires_on = expires_at.astimezone(zone).date() if expires_at else None
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
    if not superseded:
        others = sa.select(t.certification.c.certification_id).where(
            *same_course, t.certification.c.certification_id != certification_id
        )
        await timers.cancel(uow.session, t.timer, now, t.timer.c.certification_id.in_(others))
        if expires_at is not None and expires_at > now:
            await timers.start(
                uow, t.timer, due_at=expires_at, certification_id=certification_id, kind=TimerKind.EXPIRY
            )
            for days_before, due in reminders_due(expires_at, policy.reminder_days, now):
                await timers.start(
                    uow,
                    t.timer,
                    due_at=due,
                    certification_id=certification_id,
                    kind=TimerKind.REMINDER,
                    days_before=days_before,
                )
    await uow.emit(
        CertificationGranted(
            supporter=staff_ref, course=course, completed_on=completed_on, expires_on=expires_on
        ),
        site_id=str(home),
    )
    await refresh_eligibility(uow, staff_ref, now=now)
    return Recorded(expires_at, new=True)


@dataclass(frozen=True)
class Completion:
    line: int
    staff_ref: str
    course: str
    completed_at: datetime


async def import_completions(
    uow: UnitOfWork, completions: list[Completion], policy: TrainingPolicy
) -> tuple[int, int, list[tuple[int, str]]]:
    """A batch of a CSV file, in one transaction: (imported, already recorded, rejected
    rows with the reason). A row naming an unknown course or supporter is reported, the
    rest go in."""
    now = datetime.now(UTC)
    catalogue = set((await uow.session.scalars(sa.select(t.course.c.code))).all())
    refs = {c.staff_ref for c in completions}
    known = set(
        (
            await uow.session.scalars(
                sa.select(t.supporter.c.staff_ref).where(t.supporter.c.staff_ref.in_(refs))
            )
        ).all()
    )
    imported, again, rejected = 0, 0, []
    for c in completions:
        if c.course not in catalogue:
            rejected.append((c.line, f"course: '{c.course}' is not in the catalogue"))
        elif c.staff_ref not in known:
            rejected.append((c.line, f"staff_ref: supporter '{c.staff_ref}' is not registered with training"))
        elif (await _record_completion(uow, c.staff_ref, c.course, c.completed_at, policy, now=now)).new:
            imported += 1
        else:
            again += 1
    return imported, again, rejected


async def refresh_eligibility(uow: UnitOfWork, staff_ref: str, *, now: datetime, moved: bool = False) -> None:
    """Recompute a supporter's eligibility; publish it when it changed (or was never said),
    or when they moved to another site."""
    s = (
        await uow.session.execute(
            sa.select(t.supporter).where(t.supporter.c.staff_ref == staff_ref).with_for_update()
        )
    ).one()
    standing = await standing_of(uow, staff_ref, now)
    result = Verdict(eligible=s.active and standing.eligible, missing=standing.missing)
    if s.eligible is result.eligible and not moved:
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
        )
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
        if timer.kind == TimerKind.EXPIRY:
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
                )
            )
    return len(due)


async def standing_of(uow: UnitOfWork, staff_ref: str, now: datetime) -> Verdict:
    """What eligibility would be if the person were active: the courses still missing."""
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
    return verdict(active=True, required=required, current=current, today=now)
