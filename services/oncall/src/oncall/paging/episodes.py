"""An episode starts from matching's proposal (or its absence) and a coordinator's override."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import (
    MatchOverridden,
    MatchProposed,
    MatchUnmatched,
    PageExhausted,
)
from contracts.types import RecipientRole, Urgency
from servicekit import timers
from servicekit.database import UnitOfWork
from servicekit.driver import DriverStatement, named_values
from servicekit.telemetry import current_traceparent

from oncall import tables as t
from oncall.escalation import (
    ENDED,
    EpisodeStatus,
    Link,
    broadcast_steps,
    build_chain,
)
from oncall.paging.answers import cancel_pending, close_open_pages, locked_episode
from oncall.paging.chain import chain_of, send_page
from oncall.paging.policy import ACKNOWLEDGE, PagingPolicy
from oncall.paging.site_rules import site_rules

# built once, its values as parameters, on the driver: built for each proposal, the insert and
# the cache key SQLAlchemy derives from its values cost about a tenth of oncall's CPU for one
_NEW_EPISODE = DriverStatement(
    sa.insert(t.episode).values(
        named_values(
            t.episode,
            (
                "referral_id",
                "site_id",
                "chain",
                "crisis",
                "step",
                "status",
                "closed_at",
                "team_size",
                "traceparent",
                "started_at",
                "urgency",
                "worker_unchecked",
            ),
        )
    )
)


def on_match_proposed(policy: PagingPolicy):  # type: ignore[no-untyped-def]
    async def handle(event: MatchProposed, uow: UnitOfWork, _envelope: Envelope) -> None:
        ranked = [c.supporter for c in sorted(event.candidates, key=lambda c: c.rank)]
        await _start_episode(
            uow,
            event.referral_id,
            event.site_id,
            ranked,
            event.crisis,
            event.team_size,
            policy,
            event.urgency,
            worker_unchecked=event.worker_unchecked,
        )

    return handle


def on_match_unmatched(policy: PagingPolicy):  # type: ignore[no-untyped-def]
    """Nobody could be proposed: a person must still hear of it, so the coordinator is
    paged at once (a crisis with no professional available cannot wait for office hours)."""

    async def handle(event: MatchUnmatched, uow: UnitOfWork, _envelope: Envelope) -> None:
        await _start_episode(
            uow,
            event.referral_id,
            event.site_id,
            [],
            event.crisis,
            1,
            policy,
            event.urgency,
            worker_unchecked=event.worker_unchecked,
        )

    return handle


async def _start_episode(
    uow: UnitOfWork,
    referral_id: uuid.UUID,
    site_id: str,
    ranked: list[str],
    crisis: bool,
    team_size: int,
    policy: PagingPolicy,
    urgency: Urgency | None,
    *,
    worker_unchecked: bool = False,
) -> None:
    # the site's rules, its coordinator and whether the episode exists: one round trip
    site = await site_rules(uow, site_id, referral_id)
    if site.episode_exists:
        return  # redelivered, or the worker withdrew before the proposal arrived
    chain = build_chain(
        ranked,
        coordinator=site.coordinator,
        fallback=policy.fallback,
        supporters=len(ranked) if team_size > 1 else policy.supporters_in_chain,
        rounds=policy.rounds,
    )
    now = datetime.now(UTC)
    at_once = broadcast_steps(chain, team_size)
    await _NEW_EPISODE.execute(
        uow,
        {
            "referral_id": referral_id,
            "site_id": site_id,
            "chain": [{"recipient": link.recipient, "role": link.role.value} for link in chain],
            "crisis": crisis,
            "step": at_once - 1,
            # nobody to page: exhausted as it starts
            "status": (EpisodeStatus.PAGING if chain else EpisodeStatus.EXHAUSTED).value,
            "closed_at": None if chain else now,
            "team_size": team_size,
            "traceparent": current_traceparent(),
            "started_at": now,
            "urgency": urgency.value if urgency else None,
            "worker_unchecked": worker_unchecked,
        },
    )
    # the case's service-level clocks run from now, whoever answers; they start in one
    # statement with the timer of the first page
    clocks = [
        {"referral_id": referral_id, "step": 0, "kind": level.value, "due_at": due}
        for level, due in site.levels(policy.levels).clocks(now, urgency, crisis).items()
    ]
    if not chain:
        await timers.start_all(uow, t.timer, clocks)
        await uow.emit(PageExhausted(referral_id=referral_id, site_id=site_id, steps=1))
        return
    for step in range(at_once):
        due = await send_page(
            uow,
            referral_id,
            site_id,
            chain,
            step,
            crisis,
            policy,
            now,
            timer=False,
            urgency=urgency,
            site=site,
        )
    # one acknowledgement timer for the whole broadcast: on the last page sent
    acknowledge = {"referral_id": referral_id, "step": at_once - 1, "kind": ACKNOWLEDGE, "due_at": due}
    await timers.start_all(uow, t.timer, [*clocks, acknowledge])


def on_match_overridden(policy: PagingPolicy):  # type: ignore[no-untyped-def]
    """A coordinator chose the supporter: every pending page of the episode is cancelled
    and the chosen supporter is paged, with the coordinator behind them. The chain grows
    (steps stay unique), so the page history keeps what happened before the override."""

    async def handle(event: MatchOverridden, uow: UnitOfWork, _envelope: Envelope) -> None:
        episode = await locked_episode(uow, event.referral_id)
        if episode is None:
            await _start_episode(
                uow,
                event.referral_id,
                event.site_id,
                [event.supporter],
                event.crisis,
                1,
                policy,
                event.urgency,
            )
            return
        if EpisodeStatus(episode.status) in ENDED:
            return  # the case ended; an override restarts nothing (matching refuses it too)
        chain = chain_of(episode.chain)
        now = datetime.now(UTC)
        await close_open_pages(uow, event.referral_id)
        await cancel_pending(uow, event.referral_id, now)
        site = await site_rules(uow, event.site_id)
        # the case was re-assigned, so whoever took it before no longer holds it
        grown = [*chain, Link(event.supporter, RecipientRole.SUPPORTER)]
        if site.coordinator:
            grown.append(Link(site.coordinator, RecipientRole.COORDINATOR))
        step = len(chain)
        await uow.session.execute(
            sa.update(t.episode)
            .where(t.episode.c.referral_id == event.referral_id)
            .values(
                chain=[{"recipient": link.recipient, "role": link.role.value} for link in grown],
                step=step,
                status=EpisodeStatus.PAGING.value,
                team_size=1,
                closed_at=None,
                acknowledged_at=None,
            )
        )
        await send_page(
            uow,
            event.referral_id,
            event.site_id,
            grown,
            step,
            episode.crisis,
            policy,
            now,
            urgency=event.urgency,
            site=site,
        )

    return handle
