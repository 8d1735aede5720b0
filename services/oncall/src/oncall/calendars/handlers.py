"""Calendar feeds: a secret address per person and kind, the feed it serves, revocation."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from servicekit.database import UnitOfWork

from oncall import tables as t
from oncall.calendars import feeds, ical
from oncall.schedule import Schedule
from oncall.schedules.handlers import load_schedule

SITE = "site"
MINE = "mine"
# A site's calendar names who is on call there: its address works while its owner keeps
# opening the site's schedule as the site's coordinator. oncall learns roles only from
# sign-ins, so an owner who lost the role (left the site, another job) stops confirming it,
# and the address stops within this time.
SITE_CONFIRMED_WITHIN = timedelta(days=30)
# a schedule opened again within this time writes nothing
CONFIRM_AT_MOST_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class Feed:
    scope: str
    site_id: str | None
    staff_ref: str | None
    language: str


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _live(owner: str, scope: str, site_id: str | None) -> sa.ColumnElement[bool]:
    c = t.calendar_feed.c
    return sa.and_(
        c.owner == owner,
        c.scope == scope,
        sa.func.coalesce(c.site_id, "") == (site_id or ""),
        c.revoked_at.is_(None),
    )


async def revoke(uow: UnitOfWork, owner: str, scope: str, site_id: str | None = None) -> bool:
    """The owner's live address of this kind stops working; whether there was one."""
    done = await uow.session.execute(
        sa.update(t.calendar_feed)
        .where(_live(owner, scope, site_id))
        .values(revoked_at=datetime.now(UTC))
        .returning(t.calendar_feed.c.feed_id)
    )
    return done.first() is not None


async def create(
    uow: UnitOfWork,
    owner: str,
    scope: str,
    *,
    site_id: str | None = None,
    staff_ref: str | None = None,
    language: str = "en",
) -> str:
    """A new secret address; the owner's previous one of the same kind stops working. The
    token is returned once: only its digest is kept."""
    await revoke(uow, owner, scope, site_id)
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    await uow.session.execute(
        sa.insert(t.calendar_feed).values(
            feed_id=uuid.uuid4(),
            token_digest=digest(token),
            owner=owner,
            scope=scope,
            site_id=site_id,
            staff_ref=staff_ref,
            language=language,
            created_at=now,
            confirmed_at=now,
        )
    )
    return token


async def find(uow: UnitOfWork, token: str, now: datetime) -> Feed | None:
    """The live feed at this address; none for a site's calendar whose owner has not
    confirmed it within ``SITE_CONFIRMED_WITHIN``."""
    c = t.calendar_feed.c
    row = (
        await uow.session.execute(
            sa.select(c.scope, c.site_id, c.staff_ref, c.language).where(
                c.token_digest == digest(token),
                c.revoked_at.is_(None),
                sa.or_(c.scope != SITE, c.confirmed_at >= now - SITE_CONFIRMED_WITHIN),
            )
        )
    ).first()
    return Feed(row.scope, row.site_id, row.staff_ref, row.language) if row else None


async def confirm(uow: UnitOfWork, owner: str, site_id: str, now: datetime) -> None:
    """The owner, signed in as the site's coordinator, opened its schedule: their address of
    the site's calendar keeps working (an address already lapsed stays lapsed)."""
    c = t.calendar_feed.c
    await uow.session.execute(
        sa.update(t.calendar_feed)
        .where(
            _live(owner, SITE, site_id),
            c.confirmed_at >= now - SITE_CONFIRMED_WITHIN,
            c.confirmed_at < now - CONFIRM_AT_MOST_EVERY,
        )
        .values(confirmed_at=now)
    )


async def _schedules_naming(uow: UnitOfWork, staff_ref: str) -> dict[str, Schedule]:
    """Every site whose schedule names the supporter, in a rotation or an override."""
    sites = (
        await uow.session.scalars(
            sa.union(
                sa.select(t.rotation.c.site_id).where(t.rotation.c.members.any(staff_ref)),
                sa.select(t.duty_override.c.site_id).where(
                    t.duty_override.c.staff_ref == staff_ref, t.duty_override.c.removed_at.is_(None)
                ),
            )
        )
    ).all()
    found = {}
    for site_id in sorted(sites):
        schedule = await load_schedule(uow, site_id)
        if schedule is not None:
            found[site_id] = schedule
    return found


async def render(uow: UnitOfWork, feed: Feed, now: datetime) -> str:
    """The feed's calendar now; a site without a schedule has an empty one (it may get one)."""
    span = feeds.span_at(now)
    if feed.scope == SITE and feed.site_id is not None:
        schedule = await load_schedule(uow, feed.site_id)
        shifts = [] if schedule is None else feeds.site_shifts(feed.site_id, schedule, span, feed.language)
    else:
        schedules = await _schedules_naming(uow, feed.staff_ref or "")
        shifts = feeds.own_shifts(feed.staff_ref or "", schedules, span, feed.language)
    name = feeds.title(feed.scope, feed.language, feed.site_id)
    return ical.calendar(name, shifts, now=now, span=(span.computed_from, span.end))
