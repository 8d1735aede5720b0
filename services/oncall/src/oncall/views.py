"""What the coordinator sees: a referral's pages with their delivery, and the site's queue of
episodes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from contracts.types import RecipientRole, ServiceLevel
from servicekit.database import UnitOfWork

from oncall import tables as t
from oncall.escalation import (
    ENDED,
    ClockState,
    EpisodeStatus,
    PageStatus,
    clock_state,
    escalated,
)
from oncall.messages import DeliveryStatus
from oncall.paging.chain import chain_of
from oncall.paging.schemas import Clock, Delivery, Episode, MyPage, PageRow


async def pages_of(uow: UnitOfWork, referral_id: uuid.UUID) -> tuple[str | None, list[PageRow]]:
    site = await uow.session.scalar(
        sa.select(t.episode.c.site_id).where(t.episode.c.referral_id == referral_id)
    )
    rows = (
        await uow.session.execute(
            sa.select(t.page).where(t.page.c.referral_id == referral_id).order_by(t.page.c.step)
        )
    ).all()
    # how each page's message is getting through, so a failing gateway shows: the channel,
    # which of the person's routes, its state, tries and the kind of the last failure (never
    # an address or the message)
    deliveries: dict[uuid.UUID, list[Delivery]] = {}
    for n in (
        await uow.session.execute(
            sa.select(t.notification)
            .where(t.notification.c.referral_id == referral_id, t.notification.c.page_id.is_not(None))
            .order_by(t.notification.c.notification_id)
        )
    ).all():
        deliveries.setdefault(n.page_id, []).append(
            Delivery(
                channel=n.channel,
                route=n.route + 1,
                status=n.status,
                attempts=n.attempts,
                last_failure=n.last_error,
                delivered_at=n.delivered_at,
            )
        )
    return site, [PageRow(**r._mapping, notifications=deliveries.get(r.page_id, [])) for r in rows]


# a case of oncall's stays in the coordinator's queue this long at most after it started
QUEUE_HORIZON = timedelta(days=90)


async def site_episodes(uow: UnitOfWork, site_id: str, now: datetime) -> list[Episode]:
    """The site's episodes that still need something (paging, or a clock not yet kept):
    who is paged now and since when, whether it escalated, each service-level clock, and
    how many of its messages failed to get through."""
    episodes = (
        await uow.session.execute(
            sa.select(t.episode)
            .where(
                t.episode.c.site_id == site_id,
                t.episode.c.status.not_in([s.value for s in ENDED]),
                t.episode.c.started_at > now - QUEUE_HORIZON,
                sa.or_(t.episode.c.closed_at.is_(None), t.episode.c.met_at.is_(None)),
            )
            .order_by(t.episode.c.started_at)
            .limit(1000)
        )
    ).all()
    ids = [e.referral_id for e in episodes]
    timers: dict[tuple[uuid.UUID, str], list[Any]] = {}
    for row in (
        await uow.session.execute(
            sa.select(t.timer)
            .where(
                t.timer.c.referral_id.in_(ids),
                t.timer.c.kind.in_([level.value for level in ServiceLevel]),
            )
            .order_by(t.timer.c.timer_id)
        )
    ).all():
        timers.setdefault((row.referral_id, row.kind), []).append(row)
    pages: dict[uuid.UUID, list[tuple[PageStatus, RecipientRole]]] = {}
    waiting: dict[uuid.UUID, Any] = {}
    for page in (
        await uow.session.execute(
            sa.select(t.page).where(t.page.c.referral_id.in_(ids)).order_by(t.page.c.step)
        )
    ).all():
        pages.setdefault(page.referral_id, []).append(
            (PageStatus(page.status), RecipientRole(page.recipient_role))
        )
        if page.status == PageStatus.SENT.value:
            waiting[page.referral_id] = page  # the latest step still waiting for an answer
    failed: dict[uuid.UUID, int] = {
        referral_id: n
        for referral_id, n in (
            await uow.session.execute(
                # through the page, whose id the notifications are indexed by
                sa.select(t.page.c.referral_id, sa.func.count())
                .join(t.notification, t.notification.c.page_id == t.page.c.page_id)
                .where(
                    t.page.c.referral_id.in_(ids),
                    t.notification.c.status == DeliveryStatus.FAILED.value,
                )
                .group_by(t.page.c.referral_id)
            )
        )
    }
    # the site's zone, for the queue to say "since 03:12" as the site's clocks do
    zone = await uow.session.scalar(sa.select(t.schedule.c.time_zone).where(t.schedule.c.site_id == site_id))
    out = []
    for e in episodes:
        chain = chain_of(e.chain)
        clocks: dict[str, Clock] = {}
        for level in ServiceLevel:
            rows = timers.get((e.referral_id, level.value), [])
            if not rows:
                continue
            done = e.contacted_at if level is ServiceLevel.CALLBACK else e.met_at
            states = [clock_state(r.due_at, done, r.fired_at, r.cancelled_at) for r in rows]
            # a re-open gives a fresh callback clock: the latest counts down, any miss stays
            clocks[level.value] = Clock(
                due_at=rows[-1].due_at,
                state=(ClockState.MISSED if ClockState.MISSED in states else states[-1]).value,
            )
        paging = e.status == EpisodeStatus.PAGING.value and e.step < len(chain)
        now_paged = waiting.get(e.referral_id) if paging else None
        out.append(
            Episode(
                referral_id=e.referral_id,
                status=e.status,
                crisis=e.crisis,
                urgency=e.urgency,
                team_size=e.team_size,
                started_at=e.started_at,
                acknowledged_at=e.acknowledged_at,
                unmatched=not any(link.role is RecipientRole.SUPPORTER for link in chain),
                escalated=escalated(pages.get(e.referral_id, [])),
                paging_role=chain[e.step].role.value if paging else None,
                paging=now_paged.recipient if now_paged else None,
                paging_since=now_paged.sent_at if now_paged else None,
                reopened=e.reopened,
                # the worker is not in the directory: no seniority or reporting-line check
                worker_unchecked=e.worker_unchecked,
                clocks=clocks,
                failed_deliveries=failed.get(e.referral_id, 0),
                time_zone=zone,
            )
        )
    return out


def _page_with_its_request() -> sa.Select[Any]:
    """A page with what its recipient needs to decide at 3 a.m.: the site, whether it is a
    crisis, how urgent, until when, and the site's zone to say that time in."""
    return (
        sa.select(
            t.page.c.page_id,
            t.page.c.referral_id,
            t.page.c.step,
            t.page.c.recipient_role,
            t.page.c.sent_at,
            t.page.c.acknowledge_by,
            t.episode.c.site_id,
            t.episode.c.crisis,
            t.episode.c.urgency,
            t.episode.c.team_size,
            t.schedule.c.time_zone,
        )
        .join(t.episode, t.episode.c.referral_id == t.page.c.referral_id)
        .outerjoin(t.schedule, t.schedule.c.site_id == t.episode.c.site_id)
    )


async def my_pages(uow: UnitOfWork, staff_ref: str) -> list[MyPage]:
    """The pages waiting for this person's answer, newest first."""
    query = _page_with_its_request().where(
        t.page.c.recipient == staff_ref,
        t.page.c.status == PageStatus.SENT.value,
        t.episode.c.status == EpisodeStatus.PAGING.value,
    )
    rows = (await uow.session.execute(query.order_by(t.page.c.sent_at.desc()).limit(50))).all()
    return [MyPage(**r._mapping) for r in rows]


async def page_facts(uow: UnitOfWork, page_id: uuid.UUID) -> Any:
    """One page with its request (for the page a message's link opens), or None."""
    return (await uow.session.execute(_page_with_its_request().where(t.page.c.page_id == page_id))).first()
