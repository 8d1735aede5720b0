"""Supporting the supporters: debriefs after hard cases (RISE), prompts after an encounter,
continuing education."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import (
    DebriefPrompted,
    PageAcknowledged,
    ReferralClosed,
)
from contracts.types import RecipientRole
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert

from training import tables as t
from training.candidates.handlers import home_site_of
from training.common import Conflict, UnknownRecord
from training.supporter_care.schemas import Debrief, DebriefPrompt

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
    return debrief_id


async def debriefs_of(uow: UnitOfWork, site_id: str, start: date, end: date) -> list[Debrief]:
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
        Debrief(debrief_id=i, held_on=d, kind=k, minutes=m, attendees=sorted(a))
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


async def _prompt_debrief(uow: UnitOfWork, staff_ref: str, now: datetime) -> None:
    home = await home_site_of(uow, staff_ref)
    if home is None:
        return  # not one of training's supporters (an authority fallback, say): nothing to offer
    prompt_id = uuid.uuid4()
    await uow.session.execute(
        sa.insert(t.debrief_prompt).values(prompt_id=prompt_id, staff_ref=staff_ref, prompted_at=now)
    )
    await uow.emit(DebriefPrompted(prompt_id=prompt_id, supporter=staff_ref, home_site=home))


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
    return int(dropped.rowcount or 0)  # type: ignore[attr-defined]


async def debrief_prompts(
    uow: UnitOfWork, *, staff_ref: str | None = None, site_id: str | None = None
) -> list[DebriefPrompt]:
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
    return [DebriefPrompt(**r._mapping) for r in (await uow.session.execute(query)).all()]


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
