"""What coordinators look at: the site's supporters, eligible or not and why, expiries ahead,
education and debriefs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from servicekit.database import UnitOfWork

from training import tables as t
from training.certification.schemas import Standing
from training.common import NEVER
from training.eligibility import verdict

# --- what coordinators look at ------------------------------------------------------------


async def roster(
    uow: UnitOfWork, *, site_id: str | None = None, staff_ref: str | None = None
) -> list[Standing]:
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
        ).all()
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
        ).all()
    )
    stages: dict[str, str] = dict(
        (
            await uow.session.execute(
                sa.select(t.candidacy.c.staff_ref, t.candidacy.c.stage)
                .where(t.candidacy.c.staff_ref.in_(refs))
                .order_by(t.candidacy.c.candidacy_id)
            )
        ).all()
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
            Standing(
                **{
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
        )
    return out
