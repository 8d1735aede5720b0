"""The service-level clocks: a call back and a first meeting, per site, missed or kept."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import (
    EpisodeReopened,
    ReferralContacted,
    ReferralMet,
    ServiceLevelBreached,
)
from contracts.types import ReopenReason, ServiceLevel, Urgency
from servicekit import timers
from servicekit.database import UnitOfWork
from servicekit.telemetry import continue_trace
from sqlalchemy.dialects.postgresql import insert

from oncall import tables as t
from oncall.duty import coordinator_of
from oncall.escalation import (
    ENDED,
    Episode,
    EpisodeStatus,
    ServiceLevels,
    SiteTimeouts,
    reopen_step,
)
from oncall.messages import MessageKind
from oncall.paging.chain import chain_of, notify, page_episode
from oncall.paging.policy import PagingPolicy, tracer
from oncall.paging.site_rules import site_rules


async def service_levels(uow: UnitOfWork, site_id: str, policy: PagingPolicy) -> ServiceLevels:
    """The site's service levels where the authority set them, else the service's."""
    return (await site_rules(uow, site_id)).levels(policy.levels)


async def set_service_levels(
    uow: UnitOfWork, site_id: str, callback_within: timedelta, meet_within: timedelta
) -> None:
    """New cases of the site run on these clocks; running cases keep theirs."""
    values = {
        "callback_within_seconds": callback_within.total_seconds(),
        "meet_within_seconds": meet_within.total_seconds(),
    }
    await uow.session.execute(
        insert(t.site_service_levels)
        .values(site_id=site_id, **values)
        .on_conflict_do_update(index_elements=["site_id"], set_=values)
    )


async def set_ack_timeouts(
    uow: UnitOfWork,
    site_id: str,
    default: timedelta | None,
    crisis: timedelta | None,
    by_urgency: dict[Urgency, timedelta],
) -> None:
    """Pages of the site sent from now on wait this long; pages already out keep theirs."""
    values = {
        "default_seconds": default.total_seconds() if default else None,
        "crisis_seconds": crisis.total_seconds() if crisis else None,
        "by_urgency": {u.value: d.total_seconds() for u, d in by_urgency.items()},
    }
    await uow.session.execute(
        insert(t.site_ack_timeouts)
        .values(site_id=site_id, **values)
        .on_conflict_do_update(index_elements=["site_id"], set_=values)
    )


async def ack_timeouts(uow: UnitOfWork, site_id: str) -> SiteTimeouts | None:
    return (await site_rules(uow, site_id)).timeouts


async def service_level_due(
    uow: UnitOfWork, episode: Episode, level: ServiceLevel, policy: PagingPolicy, now: datetime
) -> None:
    """A clock ran out. If the worker was not called back (or met) in time, the event goes
    out and the coordinator is alerted; a case someone took but never called back is
    re-opened and the next person is paged."""
    done = episode.contacted_at if level is ServiceLevel.CALLBACK else episode.met_at
    if done is not None or EpisodeStatus(episode.status) in ENDED:
        return
    acknowledged = episode.status == EpisodeStatus.ACKNOWLEDGED.value
    with (
        continue_trace(episode.traceparent),
        tracer.start_as_current_span(
            "service level missed",
            attributes={"pss.referral_id": str(episode.referral_id), "pss.service_level": level.value},
        ),
    ):
        levels = await service_levels(uow, episode.site_id, policy)
        target = levels.target_minutes(level)
        await uow.emit(
            ServiceLevelBreached(
                referral_id=episode.referral_id,
                site_id=episode.site_id,
                level=level,
                target_minutes=target,
                acknowledged=acknowledged,
            )
        )
        reopened = False
        if level is ServiceLevel.CALLBACK and acknowledged:
            reopened = await _reopen(uow, episode, policy, levels, now)
        coordinator = await coordinator_of(uow, episode.site_id)
        if coordinator:
            await notify(
                uow,
                MessageKind.BREACH,
                coordinator,
                site_id=episode.site_id,
                referral_id=episode.referral_id,
                detail={
                    "referral_id": str(episode.referral_id),
                    "level": level.value,
                    "target_minutes": target,
                    "acknowledged": acknowledged,
                    "reopened": reopened,
                },
            )


async def _reopen(
    uow: UnitOfWork, episode: Episode, policy: PagingPolicy, levels: ServiceLevels, now: datetime
) -> bool:
    chain = chain_of(episode.chain)
    following = reopen_step(chain, episode.step, episode.reopened, levels)
    if following is None:
        return False
    await uow.session.execute(
        sa.update(t.episode)
        .where(t.episode.c.referral_id == episode.referral_id)
        .values(
            status=EpisodeStatus.PAGING.value,
            step=following,
            closed_at=None,
            reopened=episode.reopened + 1,
        )
    )
    await uow.emit(
        EpisodeReopened(
            referral_id=episode.referral_id,
            site_id=episode.site_id,
            reason=ReopenReason.NO_CALLBACK,
            to_step=following,
            to_role=chain[following].role,
        )
    )
    await page_episode(uow, episode, chain, following, policy, now)
    # the next person gets a fresh callback clock of their own
    await timers.start(
        uow,
        t.timer,
        referral_id=episode.referral_id,
        step=following,
        kind=ServiceLevel.CALLBACK.value,
        due_at=now + levels.callback_within,
    )
    return True


async def on_referral_contacted(event: ReferralContacted, uow: UnitOfWork, _envelope: Envelope) -> None:
    await _clock_stopped(uow, event.referral_id, ServiceLevel.CALLBACK)


async def on_referral_met(event: ReferralMet, uow: UnitOfWork, _envelope: Envelope) -> None:
    await _clock_stopped(uow, event.referral_id, ServiceLevel.MEETING)


async def _clock_stopped(uow: UnitOfWork, referral_id: uuid.UUID, level: ServiceLevel) -> None:
    """The worker was called back (or met): that clock stops. A meeting also counts as a
    call back, since the two met."""
    now = datetime.now(UTC)
    stopped = [ServiceLevel.CALLBACK, ServiceLevel.MEETING] if level is ServiceLevel.MEETING else [level]
    values: dict[str, Any] = {"contacted_at": sa.func.coalesce(t.episode.c.contacted_at, now)}
    if level is ServiceLevel.MEETING:
        values["met_at"] = sa.func.coalesce(t.episode.c.met_at, now)
    await uow.session.execute(
        sa.update(t.episode).where(t.episode.c.referral_id == referral_id).values(**values)
    )
    await timers.cancel(
        uow.session,
        t.timer,
        now,
        t.timer.c.referral_id == referral_id,
        t.timer.c.kind.in_([s.value for s in stopped]),
    )
