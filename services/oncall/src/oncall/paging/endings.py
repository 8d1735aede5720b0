"""A case that ends, however it ends, stops its paging at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import (
    ReferralClosed,
    ReferralDeclined,
    ReferralWithdrawn,
)
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert

from oncall import tables as t
from oncall.escalation import (
    ENDED,
    EpisodeStatus,
)
from oncall.paging.answers import cancel_pending, close_open_pages, locked_episode


async def on_referral_withdrawn(event: ReferralWithdrawn, uow: UnitOfWork, _envelope: Envelope) -> None:
    """The worker stopped: stop paging."""
    await end_episode(uow, event.referral_id, event.site_id, EpisodeStatus.WITHDRAWN)


async def on_referral_closed(event: ReferralClosed, uow: UnitOfWork, _envelope: Envelope) -> None:
    """The case ended (support by phone alone is an ending too): paging stops and its
    clocks stop, so a closed case never pages anyone nor reports a meeting it no longer needs."""
    await end_episode(uow, event.referral_id, event.site_id, EpisodeStatus.CLOSED)


async def on_referral_declined(event: ReferralDeclined, uow: UnitOfWork, _envelope: Envelope) -> None:
    """An offer the worker declined (or let lapse) never becomes a case to page for."""
    await end_episode(uow, event.referral_id, event.site_id, EpisodeStatus.CLOSED)


async def end_episode(uow: UnitOfWork, referral_id: uuid.UUID, site_id: str, status: EpisodeStatus) -> None:
    """The case is over, whatever order the events come in: every open page is closed, every
    timer (acknowledgement and service level) and every message not yet sent is cancelled.
    If the proposal has not arrived yet, an ended episode is recorded first, so a late
    proposal or override pages nobody."""
    now = datetime.now(UTC)
    episode = await locked_episode(uow, referral_id)
    if episode is None:
        await uow.session.execute(
            insert(t.episode)
            .values(
                referral_id=referral_id,
                site_id=site_id,
                chain=[],
                crisis=False,
                step=0,
                status=status.value,
                started_at=now,
                closed_at=now,
            )
            .on_conflict_do_nothing(index_elements=["referral_id"])
        )
        return
    if EpisodeStatus(episode.status) in ENDED:
        return
    await uow.session.execute(
        sa.update(t.episode)
        .where(t.episode.c.referral_id == referral_id)
        .values(status=status.value, closed_at=now)
    )
    await close_open_pages(uow, referral_id)
    await cancel_pending(uow, referral_id, now, ended=True)
