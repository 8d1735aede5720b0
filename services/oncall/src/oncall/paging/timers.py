"""Every due timer acts once: a late acknowledgement escalates, a missed service level is
reported."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from contracts.types import EscalationReason, ServiceLevel
from servicekit.database import UnitOfWork
from servicekit.telemetry import continue_trace
from servicekit.timers import claim_due

from oncall import tables as t
from oncall.escalation import (
    EpisodeStatus,
    PageStatus,
)
from oncall.paging.answers import locked_episode
from oncall.paging.chain import escalate
from oncall.paging.policy import ACKNOWLEDGE, PagingPolicy, tracer
from oncall.service_levels.handlers import service_level_due


async def fire_due_timers(uow: UnitOfWork, policy: PagingPolicy, *, limit: int = 50) -> int:
    """Act on every due timer: escalate an episode whose acknowledgement is late, or report
    a service level missed. Each fires exactly once (servicekit.timers)."""
    now = datetime.now(UTC)
    due = await claim_due(uow.session, t.timer, now, limit=limit)
    for timer in due:
        episode = await locked_episode(uow, timer.referral_id)
        if episode is None:
            continue
        if timer.kind != ACKNOWLEDGE:
            await service_level_due(uow, episode, ServiceLevel(timer.kind), policy, now)
            continue
        if episode.status != EpisodeStatus.PAGING.value or episode.step != timer.step:
            continue
        with (
            continue_trace(episode.traceparent),
            tracer.start_as_current_span(
                "acknowledgement timeout",
                attributes={"pss.referral_id": str(episode.referral_id), "pss.step": timer.step},
            ),
        ):
            await uow.session.execute(
                sa.update(t.page)
                .where(
                    t.page.c.referral_id == episode.referral_id,
                    t.page.c.step <= timer.step,
                    t.page.c.status == PageStatus.SENT.value,
                )
                .values(status=PageStatus.EXPIRED.value)
            )
            await escalate(uow, episode, EscalationReason.NOT_ACKNOWLEDGED, policy, now)
    return len(due)
