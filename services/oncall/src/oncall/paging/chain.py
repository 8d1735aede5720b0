"""Paging the chain: one link after the other, escalating when an answer is late."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from contracts.events import (
    PageEscalated,
    PageExhausted,
    PageSent,
)
from contracts.types import EscalationReason, RecipientRole, Urgency
from servicekit import timers
from servicekit.database import UnitOfWork
from servicekit.driver import DriverStatement
from sqlalchemy.dialects.postgresql import JSONB

from oncall import tables as t
from oncall.escalation import (
    Episode,
    EpisodeStatus,
    Link,
    PageStatus,
    next_answerable_step,
    next_step,
)
from oncall.messages import QUEUED, DeliveryStatus, MessageKind
from oncall.paging.policy import ACKNOWLEDGE, PagingPolicy
from oncall.paging.site_rules import SiteRules, site_rules


def _page_and_message() -> sa.Insert:
    """The page and the message that carries it, in one statement (they were two round
    trips for every page); built once."""
    page = (
        sa.insert(t.page)
        .values(
            page_id=sa.bindparam("page_id"),
            referral_id=sa.bindparam("referral_id"),
            step=sa.bindparam("step"),
            recipient=sa.bindparam("recipient"),
            recipient_role=sa.bindparam("recipient_role"),
            status=PageStatus.SENT.value,
            sent_at=sa.bindparam("sent_at"),
            acknowledge_by=sa.bindparam("acknowledge_by"),
        )
        .cte("sent_page")
    )
    # queued for delivery (delivery.py sends it after the commit), as notify() queues others
    message = sa.insert(t.notification).values(
        kind=MessageKind.PAGE.value,
        page_id=sa.bindparam("page_id"),
        referral_id=sa.bindparam("referral_id"),
        site_id=sa.bindparam("site_id"),
        recipient=sa.bindparam("recipient"),
        channel="pending",
        status=DeliveryStatus.PENDING.value,
        detail=sa.bindparam("detail", type_=JSONB),
    )
    return message.add_cte(page)


_PAGE_AND_MESSAGE = DriverStatement(_page_and_message())  # on the driver: every page's path


async def send_page(
    uow: UnitOfWork,
    referral_id: uuid.UUID,
    site_id: str,
    chain: list[Link],
    step: int,
    crisis: bool,
    policy: PagingPolicy,
    now: datetime,
    *,
    timer: bool = True,
    urgency: Urgency | str | None = None,
    site: SiteRules | None = None,
) -> datetime:
    """Page the link at ``step``; returns when its answer is due (the caller that asked for
    no ``timer`` starts it, with others, in one statement). ``site``: as already read."""
    link = chain[step]
    page_id = uuid.uuid4()
    urgency = Urgency(urgency) if urgency else None
    site = site or await site_rules(uow, site_id)
    due = now + policy.timeout(crisis, urgency, site.timeouts)
    detail = {
        "site_id": site_id,
        "crisis": crisis,
        "role": link.role.value,
        "acknowledge_by": due.isoformat(),
        # the message says the time in the site's zone, where its schedule names one
        "time_zone": site.time_zone or policy.time_zone,
    }
    await _PAGE_AND_MESSAGE.execute(
        uow,
        {
            "page_id": page_id,
            "referral_id": referral_id,
            "site_id": site_id,
            "step": step,
            "recipient": link.recipient,
            "recipient_role": link.role.value,
            "sent_at": now,
            "acknowledge_by": due,
            "detail": detail,
        },
    )
    uow.signal_after_commit(QUEUED)
    if timer:
        await timers.start(uow, t.timer, referral_id=referral_id, step=step, kind=ACKNOWLEDGE, due_at=due)
    await uow.emit(
        PageSent(
            page_id=page_id,
            referral_id=referral_id,
            site_id=site_id,
            recipient=link.recipient,
            recipient_role=link.role,
            step=step,
            crisis=crisis,
            acknowledge_by=due,
        )
    )
    return due


def chain_of(raw: list[dict[str, str]]) -> list[Link]:
    return [Link(item["recipient"], RecipientRole(item["role"])) for item in raw]


async def escalate(
    uow: UnitOfWork, episode: Episode, reason: EscalationReason, policy: PagingPolicy, now: datetime
) -> None:
    chain = chain_of(episode.chain)
    following = next_step(chain, episode.step)
    if following is not None and chain[following].role is RecipientRole.SUPPORTER:
        # matching is asked only when a supporter is next (it may not answer: None)
        eligible = await policy.eligible_now(episode.referral_id)
        following = next_answerable_step(chain, episode.step, eligible)
    if following is None:
        await uow.session.execute(
            sa.update(t.episode)
            .where(t.episode.c.referral_id == episode.referral_id)
            .values(status=EpisodeStatus.EXHAUSTED.value, closed_at=now)
        )
        await uow.emit(
            PageExhausted(referral_id=episode.referral_id, site_id=episode.site_id, steps=len(chain))
        )
        return
    await uow.session.execute(
        sa.update(t.episode).where(t.episode.c.referral_id == episode.referral_id).values(step=following)
    )
    await uow.emit(
        PageEscalated(
            referral_id=episode.referral_id,
            site_id=episode.site_id,
            from_step=episode.step,
            to_step=following,
            to_role=chain[following].role,
            reason=reason,
        )
    )
    await page_episode(uow, episode, chain, following, policy, now)


async def page_episode(
    uow: UnitOfWork, episode: Episode, chain: list[Link], step: int, policy: PagingPolicy, now: datetime
) -> None:
    """Page the person at ``step`` of a running episode's chain."""
    await send_page(
        uow,
        episode.referral_id,
        episode.site_id,
        chain,
        step,
        episode.crisis,
        policy,
        now,
        urgency=episode.urgency,
    )


async def notify(
    uow: UnitOfWork,
    kind: MessageKind,
    recipient: str,
    *,
    site_id: str,
    referral_id: uuid.UUID | None = None,
    page_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Queue a message to a person, in the transaction that decided it: delivery
    (delivery.py) sends it through their contact routes after the commit."""
    await uow.session.execute(
        sa.insert(t.notification).values(
            kind=kind,
            page_id=page_id,
            referral_id=referral_id,
            site_id=site_id,
            recipient=recipient,
            channel="pending",
            status=DeliveryStatus.PENDING,
            detail={"site_id": site_id, **(detail or {})},
        )
    )
    uow.signal_after_commit(QUEUED)
