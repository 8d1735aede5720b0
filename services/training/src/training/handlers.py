"""training's use cases, as plain functions over a unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import (
    CertificationExpired,
    CertificationExpiring,
    CertificationGranted,
    DebriefPrompted,
    PageAcknowledged,
    ReferralClosed,
    SiteDeclared,
    SupporterEligibilityChanged,
)
from contracts.types import RecipientRole, SupportTier
from servicekit.database import UnitOfWork, UnitOfWorkFactory
from servicekit.timers import claim_due
from sqlalchemy.dialects.postgresql import insert

from training import tables as t
from training.eligibility import Verdict, expiry, reminders_due, verdict
from training.recruitment import CLOSED, Candidacy, ReferenceKind, Stage, check_transition, references_missing


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


async def courses(uow: UnitOfWork) -> list[dict[str, Any]]:
    rows = await uow.session.execute(
        sa.select(t.course).order_by(sa.desc(t.course.c.required), t.course.c.code)
    )
    return [dict(r._mapping) for r in rows.all()]


class UnknownSite(ValueError):
    """The site is not one matching's directory declared."""


async def on_site_declared(event: SiteDeclared, uow: UnitOfWork, _e: Envelope) -> None:
    await uow.session.execute(
        insert(t.known_site)
        .values(site_id=event.site_id, declared_at=datetime.now(UTC))
        .on_conflict_do_nothing()
    )


async def require_site(uow: UnitOfWork, site_id: str) -> None:
    """A typo makes no phantom site: the person would vanish from the real roster."""
    if (
        await uow.session.scalar(sa.select(t.known_site.c.site_id).where(t.known_site.c.site_id == site_id))
        is None
    ):
        raise UnknownSite(
            f"{site_id} is not a site of this authority (or its declaration has not reached "
            "training yet): declare it in the directory first"
        )


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
    await uow.commit()


@dataclass(frozen=True)
class Recorded:
    expires_at: datetime | None
    new: bool  # False: the same completion was recorded before (a repeat or a re-import)


async def record_completion(
    uow: UnitOfWork, staff_ref: str, course: str, completed_at: datetime, policy: TrainingPolicy
) -> Recorded:
    recorded = await _record_completion(uow, staff_ref, course, completed_at, policy, now=datetime.now(UTC))
    await uow.commit()
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
        await uow.session.execute(
            sa.update(t.timer)
            .where(
                t.timer.c.certification_id.in_(others),
                t.timer.c.fired_at.is_(None),
                t.timer.c.cancelled_at.is_(None),
            )
            .values(cancelled_at=now)
        )
        if expires_at is not None and expires_at > now:
            await uow.session.execute(
                sa.insert(t.timer).values(certification_id=certification_id, kind="expiry", due_at=expires_at)
            )
            for days_before, due in reminders_due(expires_at, policy.reminder_days, now):
                await uow.session.execute(
                    sa.insert(t.timer).values(
                        certification_id=certification_id,
                        kind="reminder",
                        days_before=days_before,
                        due_at=due,
                    )
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
    await uow.commit()
    return imported, again, rejected


async def refresh_eligibility(uow: UnitOfWork, staff_ref: str, *, now: datetime, moved: bool = False) -> None:
    """Recompute a supporter's eligibility; publish it when it changed (or was never said),
    or when they moved to another site."""
    s = (
        await uow.session.execute(
            sa.select(t.supporter).where(t.supporter.c.staff_ref == staff_ref).with_for_update()
        )
    ).one()
    standing = await _standing(uow, staff_ref, now)
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


# --- recruitment (training.recruitment has the rules) ----------------------------------


class Conflict(Exception):
    """The request cannot be carried out in the record's present state (HTTP 409)."""


async def home_site_of(uow: UnitOfWork, staff_ref: str) -> str | None:
    return await uow.session.scalar(
        sa.select(t.supporter.c.home_site).where(t.supporter.c.staff_ref == staff_ref)
    )


async def express_interest(
    uow: UnitOfWork, staff_ref: str, home_site: str, by: str, acts_for: Callable[[str], bool]
) -> None:
    """A colleague's expression of interest opens a candidacy. They are registered with
    training (inactive, so never eligible) so that their courses can be recorded as they go.
    Someone registered at a site the caller does not act for is not moved, and the refusal
    says nothing of them (their stage, or whether they are active)."""
    await require_site(uow, home_site)
    now = datetime.now(UTC)
    existing = (
        await uow.session.execute(
            sa.select(t.supporter.c.active, t.supporter.c.home_site)
            .where(t.supporter.c.staff_ref == staff_ref)
            .with_for_update()
        )
    ).first()
    if existing is not None and not acts_for(existing.home_site):
        raise Conflict(
            f"{staff_ref} cannot be enrolled at this site; the authority moves a person between sites"
        )
    if existing is not None and existing.active:
        raise Conflict(f"{staff_ref} is already an active supporter")
    open_stage = await uow.session.scalar(
        sa.select(t.candidacy.c.stage).where(
            t.candidacy.c.staff_ref == staff_ref, t.candidacy.c.stage.not_in([s.value for s in CLOSED])
        )
    )
    if open_stage is not None:
        raise Conflict(f"{staff_ref} already has a candidacy, at stage {open_stage}")
    if existing is None:
        await uow.session.execute(
            sa.insert(t.supporter).values(staff_ref=staff_ref, home_site=home_site, active=False, tier=2)
        )
    else:  # someone who left the program, or withdrew before, coming back
        await uow.session.execute(
            sa.update(t.supporter).where(t.supporter.c.staff_ref == staff_ref).values(home_site=home_site)
        )
    candidacy_id = await uow.session.scalar(
        sa.insert(t.candidacy)
        .values(staff_ref=staff_ref, stage=Stage.INTERESTED.value, started_at=now, updated_at=now)
        .returning(t.candidacy.c.candidacy_id)
    )
    await uow.session.execute(
        sa.insert(t.candidacy_step).values(
            candidacy_id=candidacy_id, stage=Stage.INTERESTED.value, at=now, by_subject=by
        )
    )
    await refresh_eligibility(uow, staff_ref, now=now)
    await uow.commit()


async def _latest_candidacy(uow: UnitOfWork, staff_ref: str) -> Any:
    row = (
        await uow.session.execute(
            sa.select(t.candidacy)
            .where(t.candidacy.c.staff_ref == staff_ref)
            .order_by(t.candidacy.c.candidacy_id.desc())
            .limit(1)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise UnknownRecord(f"{staff_ref} has no candidacy; it starts with an expression of interest")
    return row


async def _references(uow: UnitOfWork, candidacy_id: int) -> dict[ReferenceKind, int]:
    rows = await uow.session.execute(
        sa.select(t.reference.c.kind, sa.func.count())
        .where(t.reference.c.candidacy_id == candidacy_id)
        .group_by(t.reference.c.kind)
    )
    return {ReferenceKind(kind): n for kind, n in rows.all()}


async def _standing(uow: UnitOfWork, staff_ref: str, now: datetime) -> Verdict:
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


async def advance_candidacy(uow: UnitOfWork, staff_ref: str, to: Stage, by: str) -> None:
    """One step of the pipeline, refused with the reason when it cannot be taken now.
    Activation makes the supporter active (eligible while certified); withdrawing an active
    supporter makes them inactive."""
    now = datetime.now(UTC)
    candidacy = await _latest_candidacy(uow, staff_ref)
    at = Stage(candidacy.stage)
    check_transition(
        Candidacy(
            stage=at,
            references=await _references(uow, candidacy.candidacy_id),
            missing_courses=(await _standing(uow, staff_ref, now)).missing,
        ),
        to,
    )
    await uow.session.execute(
        sa.update(t.candidacy)
        .where(t.candidacy.c.candidacy_id == candidacy.candidacy_id)
        .values(stage=to.value, updated_at=now)
    )
    await uow.session.execute(
        sa.insert(t.candidacy_step).values(
            candidacy_id=candidacy.candidacy_id, stage=to.value, at=now, by_subject=by
        )
    )
    if to is Stage.ACTIVE or at is Stage.ACTIVE:
        await uow.session.execute(
            sa.update(t.supporter)
            .where(t.supporter.c.staff_ref == staff_ref)
            .values(active=to is Stage.ACTIVE)
        )
        await refresh_eligibility(uow, staff_ref, now=now)
    await uow.commit()


async def add_reference(uow: UnitOfWork, staff_ref: str, referee: str, kind: ReferenceKind) -> None:
    """That a reference came in, and from whom; each referee counts once."""
    if referee == staff_ref:
        raise ValueError("a candidate cannot be their own referee")
    candidacy = await _latest_candidacy(uow, staff_ref)
    if Stage(candidacy.stage) is not Stage.APPLIED:
        raise Conflict(
            f"references are collected with the application; this candidacy is at stage {candidacy.stage}"
        )
    given = await uow.session.scalar(
        sa.select(t.reference.c.kind).where(
            t.reference.c.candidacy_id == candidacy.candidacy_id, t.reference.c.referee == referee
        )
    )
    if given is not None and given != kind.value:
        raise Conflict(f"{referee} already gave a {given} reference for this candidacy")
    if given is None:
        await uow.session.execute(
            sa.insert(t.reference).values(
                candidacy_id=candidacy.candidacy_id,
                referee=referee,
                kind=kind.value,
                received_at=datetime.now(UTC),
            )
        )
    await uow.commit()


async def candidacy_view(uow: UnitOfWork, staff_ref: str) -> dict[str, Any]:
    candidacy = await _latest_candidacy(uow, staff_ref)
    references = await _references(uow, candidacy.candidacy_id)
    steps = await uow.session.execute(
        sa.select(t.candidacy_step.c.stage, t.candidacy_step.c.at)
        .where(t.candidacy_step.c.candidacy_id == candidacy.candidacy_id)
        .order_by(t.candidacy_step.c.at)
    )
    missing = (await _standing(uow, staff_ref, datetime.now(UTC))).missing
    return {
        "staff_ref": staff_ref,
        "stage": candidacy.stage,
        "started_at": candidacy.started_at,
        "references": {k.value: references.get(k, 0) for k in ReferenceKind},
        "references_missing": {k.value: n for k, n in references_missing(references).items()},
        "courses_missing": list(missing),
        "steps": [{"stage": s, "at": at} for s, at in steps.all()],
    }


# --- supporting the supporters ----------------------------------------------------------


async def _not_of_site(uow: UnitOfWork, refs: set[str], site_id: str) -> list[str]:
    """The refs that are not supporters of this site: unknown ones and another site's
    alike, so the answer tells nothing about another site."""
    known = set(
        (
            await uow.session.scalars(
                sa.select(t.supporter.c.staff_ref).where(
                    t.supporter.c.staff_ref.in_(refs), t.supporter.c.home_site == site_id
                )
            )
        ).all()
    )
    return sorted(refs - known)


async def record_debrief(
    uow: UnitOfWork,
    *,
    site_id: str,
    held_on: date,
    kind: str,
    minutes: int,
    attendees: set[str],
    by: str,
) -> uuid.UUID:
    """A team debrief and who came; what was said stays in the room."""
    if unknown := await _not_of_site(uow, attendees, site_id):
        raise UnknownRecord(f"not supporters of this site: {', '.join(unknown)}")
    debrief_id = uuid.uuid4()
    await uow.session.execute(
        sa.insert(t.debrief).values(
            debrief_id=debrief_id,
            site_id=site_id,
            held_on=held_on,
            kind=kind,
            minutes=minutes,
            recorded_by=by,
            recorded_at=datetime.now(UTC),
        )
    )
    await uow.session.execute(
        sa.insert(t.debrief_attendance),
        [{"debrief_id": debrief_id, "staff_ref": r} for r in sorted(attendees)],
    )
    await uow.commit()
    return debrief_id


async def debriefs_of(uow: UnitOfWork, site_id: str, start: date, end: date) -> list[dict[str, Any]]:
    attendees = sa.func.array_agg(sa.func.distinct(t.debrief_attendance.c.staff_ref))
    rows = await uow.session.execute(
        sa.select(
            t.debrief.c.debrief_id, t.debrief.c.held_on, t.debrief.c.kind, t.debrief.c.minutes, attendees
        )
        .join(t.debrief_attendance, t.debrief_attendance.c.debrief_id == t.debrief.c.debrief_id)
        .where(t.debrief.c.site_id == site_id, t.debrief.c.held_on >= start, t.debrief.c.held_on < end)
        .group_by(t.debrief.c.debrief_id)
        .order_by(t.debrief.c.held_on)
    )
    return [
        {"debrief_id": i, "held_on": d, "kind": k, "minutes": m, "attendees": sorted(a)}
        for i, d, k, m, a in rows.all()
    ]


async def record_education(
    uow: UnitOfWork, staff_ref: str, *, on: date, hours: float, activity: str, by: str
) -> None:
    if await home_site_of(uow, staff_ref) is None:
        raise UnknownRecord(f"supporter '{staff_ref}' is not registered with training")
    await uow.session.execute(
        sa.insert(t.education).values(
            staff_ref=staff_ref, on=on, hours=hours, activity=activity, recorded_by=by
        )
    )
    await uow.commit()


async def _prompt_debrief(uow: UnitOfWork, staff_ref: str, now: datetime) -> None:
    home = await home_site_of(uow, staff_ref)
    if home is None:
        return  # not one of training's supporters (an authority fallback, say): nothing to offer
    prompt_id = uuid.uuid4()
    await uow.session.execute(
        sa.insert(t.debrief_prompt).values(prompt_id=prompt_id, staff_ref=staff_ref, prompted_at=now)
    )
    await uow.emit(DebriefPrompted(prompt_id=prompt_id, supporter=staff_ref, home_site=home), site_id=home)


async def on_page_acknowledged(event: PageAcknowledged, uow: UnitOfWork, _e: Envelope) -> None:
    """A supporter took a referral: remembered until it closes, to offer a debrief then."""
    if event.recipient_role is not RecipientRole.SUPPORTER:
        return
    closed = await uow.session.scalar(
        sa.select(t.closure.c.contact_made).where(t.closure.c.referral_id == event.referral_id)
    )
    if closed is None:
        await uow.session.execute(
            insert(t.engagement)
            .values(referral_id=event.referral_id, staff_ref=event.recipient)
            .on_conflict_do_nothing()
        )
    elif closed:  # the close was read first: the two come on different topics
        await _prompt_debrief(uow, event.recipient, datetime.now(UTC))


async def on_referral_closed(event: ReferralClosed, uow: UnitOfWork, _e: Envelope) -> None:
    """After an encounter each supporter who took the case is offered a debrief; the link
    between them and the case is dropped."""
    now = datetime.now(UTC)
    await uow.session.execute(
        insert(t.closure)
        .values(referral_id=event.referral_id, closed_at=now, contact_made=event.contact_made)
        .on_conflict_do_nothing()
    )
    took = await uow.session.scalars(
        sa.delete(t.engagement)
        .where(t.engagement.c.referral_id == event.referral_id)
        .returning(t.engagement.c.staff_ref)
    )
    if event.contact_made:
        for staff_ref in sorted(set(took.all())):
            await _prompt_debrief(uow, staff_ref, now)


async def forget_closures(uow: UnitOfWork, *, older_than: datetime, batch: int = 1000) -> int:
    """A close is kept only until its late acknowledgements have surely been read; then
    training drops even the case's id. Returns how many were dropped (a batch at most)."""
    oldest = (
        sa.select(t.closure.c.referral_id)
        .where(t.closure.c.closed_at < older_than)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    dropped = await uow.session.execute(sa.delete(t.closure).where(t.closure.c.referral_id.in_(oldest)))
    await uow.commit()
    return int(dropped.rowcount or 0)  # type: ignore[attr-defined]


async def debrief_prompts(
    uow: UnitOfWork, *, staff_ref: str | None = None, site_id: str | None = None
) -> list[dict[str, Any]]:
    query = sa.select(
        t.debrief_prompt.c.prompt_id,
        t.debrief_prompt.c.staff_ref,
        t.debrief_prompt.c.prompted_at,
        t.debrief_prompt.c.answered_at,
        t.debrief_prompt.c.outcome,
    ).order_by(t.debrief_prompt.c.prompted_at)
    if staff_ref is not None:
        query = query.where(t.debrief_prompt.c.staff_ref == staff_ref)
    if site_id is not None:
        query = query.join(t.supporter, t.supporter.c.staff_ref == t.debrief_prompt.c.staff_ref).where(
            t.supporter.c.home_site == site_id, t.debrief_prompt.c.answered_at.is_(None)
        )
    return [dict(r._mapping) for r in (await uow.session.execute(query)).all()]


async def answer_debrief_prompt(uow: UnitOfWork, prompt_id: uuid.UUID, staff_ref: str, outcome: str) -> None:
    prompt = (
        await uow.session.execute(
            sa.select(t.debrief_prompt)
            .where(t.debrief_prompt.c.prompt_id == prompt_id, t.debrief_prompt.c.staff_ref == staff_ref)
            .with_for_update()
        )
    ).first()
    if prompt is None:
        raise UnknownRecord("no such debrief prompt of yours")
    if prompt.answered_at is not None:
        raise Conflict(f"this prompt was answered already ({prompt.outcome})")
    await uow.session.execute(
        sa.update(t.debrief_prompt)
        .where(t.debrief_prompt.c.prompt_id == prompt_id)
        .values(answered_at=datetime.now(UTC), outcome=outcome)
    )
    await uow.commit()


# --- what coordinators look at ------------------------------------------------------------


async def roster(
    uow: UnitOfWork, *, site_id: str | None = None, staff_ref: str | None = None
) -> list[dict[str, Any]]:
    """Each supporter's standing: eligible or what is missing, the next expiry, continuing
    education and debriefs of the last twelve months, open debrief prompts, candidacy stage."""
    now = datetime.now(UTC)
    year_ago = (now - timedelta(days=365)).date()
    people = sa.select(t.supporter).order_by(t.supporter.c.staff_ref)
    if site_id is not None:
        people = people.where(t.supporter.c.home_site == site_id)
    if staff_ref is not None:
        people = people.where(t.supporter.c.staff_ref == staff_ref)
    supporters = (await uow.session.execute(people)).all()
    refs = [s.staff_ref for s in supporters]
    latest = (
        sa.select(
            t.certification.c.staff_ref,
            t.certification.c.course,
            sa.func.max(t.certification.c.completed_at).label("completed_at"),
            sa.func.max(sa.func.coalesce(t.certification.c.expires_at, NEVER)).label("expires_at"),
        )
        .where(t.certification.c.staff_ref.in_(refs))
        .group_by(t.certification.c.staff_ref, t.certification.c.course)
    )
    certifications: dict[str, list[dict[str, Any]]] = {r: [] for r in refs}
    for row in (await uow.session.execute(latest)).all():
        expires = None if row.expires_at == NEVER else row.expires_at
        certifications[row.staff_ref].append(
            {
                "course": row.course,
                "completed_at": row.completed_at,
                "expires_at": expires,
                "current": expires is None or expires > now,
            }
        )
    hours: dict[str, Any] = dict(
        (
            await uow.session.execute(
                sa.select(t.education.c.staff_ref, sa.func.sum(t.education.c.hours))
                .where(t.education.c.staff_ref.in_(refs), t.education.c.on >= year_ago)
                .group_by(t.education.c.staff_ref)
            )
        )
        .tuples()
        .all()
    )
    attended = {
        r.staff_ref: (r.n, r.last)
        for r in (
            await uow.session.execute(
                sa.select(
                    t.debrief_attendance.c.staff_ref,
                    sa.func.count().label("n"),
                    sa.func.max(t.debrief.c.held_on).label("last"),
                )
                .join(t.debrief, t.debrief.c.debrief_id == t.debrief_attendance.c.debrief_id)
                .where(t.debrief_attendance.c.staff_ref.in_(refs), t.debrief.c.held_on >= year_ago)
                .group_by(t.debrief_attendance.c.staff_ref)
            )
        ).all()
    }
    open_prompts: dict[str, int] = dict(
        (
            await uow.session.execute(
                sa.select(t.debrief_prompt.c.staff_ref, sa.func.count())
                .where(t.debrief_prompt.c.staff_ref.in_(refs), t.debrief_prompt.c.answered_at.is_(None))
                .group_by(t.debrief_prompt.c.staff_ref)
            )
        )
        .tuples()
        .all()
    )
    stages: dict[str, str] = dict(
        (
            await uow.session.execute(
                sa.select(t.candidacy.c.staff_ref, t.candidacy.c.stage)
                .where(t.candidacy.c.staff_ref.in_(refs))
                .order_by(t.candidacy.c.candidacy_id)
            )
        )
        .tuples()
        .all()
    )  # the latest candidacy wins: rows come oldest first
    required = (await uow.session.scalars(sa.select(t.course.c.code).where(t.course.c.required))).all()
    out = []
    for s in supporters:
        standing = verdict(
            active=True,
            required=required,
            current={c["course"]: c["expires_at"] for c in certifications[s.staff_ref]},
            today=now,
        )
        upcoming = sorted(
            (c for c in certifications[s.staff_ref] if c["expires_at"] is not None and c["current"]),
            key=lambda c: c["expires_at"],
        )
        debriefs, last = attended.get(s.staff_ref, (0, None))
        out.append(
            {
                "staff_ref": s.staff_ref,
                "home_site": s.home_site,
                "tier": s.tier,
                "active": s.active,
                "eligible": bool(s.active and standing.eligible),
                "courses_missing": list(standing.missing),
                "certifications": sorted(certifications[s.staff_ref], key=lambda c: c["course"]),
                "next_expiry": (
                    {"course": upcoming[0]["course"], "expires_at": upcoming[0]["expires_at"]}
                    if upcoming
                    else None
                ),
                "education_hours_12_months": float(hours.get(s.staff_ref, 0)),
                "debriefs_attended_12_months": debriefs,
                "last_debrief_on": last,
                "open_debrief_prompts": open_prompts.get(s.staff_ref, 0),
                "candidacy_stage": stages.get(s.staff_ref),
            }
        )
    return out
