"""A page answered: taken (acknowledged) or declined, signed in or from the link in a message."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from contracts.events import (
    PageAcknowledged,
    PageDeclined,
)
from contracts.types import EscalationReason, RecipientRole
from servicekit import timers
from servicekit.auth import Principal, Role
from servicekit.database import UnitOfWork
from servicekit.telemetry import continue_trace
from sqlalchemy.dialects.postgresql import insert

from oncall import tables as t
from oncall.escalation import (
    Episode,
    EpisodeStatus,
    PageStatus,
    escalates_on_decline,
    may_answer,
    team_complete,
)
from oncall.links import AnswerLink
from oncall.messages import DeliveryStatus, MessageKind
from oncall.paging.chain import chain_of, escalate, notify
from oncall.paging.policy import (
    ACKNOWLEDGE,
    PageClosed,
    PageNotFound,
    PagingPolicy,
    time_to_acknowledge,
    tracer,
)


async def locked_episode(uow: UnitOfWork, referral_id: uuid.UUID) -> Any:
    return (
        await uow.session.execute(
            sa.select(t.episode).where(t.episode.c.referral_id == referral_id).with_for_update()
        )
    ).first()


async def _answerable_page(uow: UnitOfWork, page_id: uuid.UUID, principal: Principal) -> tuple[Any, Any]:
    # the episode is locked before the page, as every other path of oncall locks them (its
    # consumers, timers and endings): the opposite order deadlocked against a consumer
    query = sa.select(t.page).where(t.page.c.page_id == page_id)
    found = (await uow.session.execute(query)).first()
    if found is None or found.recipient != principal.staff_ref:
        raise PageNotFound(page_id)  # a page is answered by the person it was sent to
    episode = await locked_episode(uow, found.referral_id)
    page = (await uow.session.execute(query.with_for_update())).one()
    if not may_answer(EpisodeStatus(episode.status), PageStatus(page.status)):
        raise PageClosed(episode.status)
    return page, episode


async def _pages_in(
    uow: UnitOfWork, referral_id: uuid.UUID, status: PageStatus, *, supporters_only: bool = True
) -> int:
    """How many of the referral's pages (its supporters', or everyone's) are in ``status``."""
    by_role = [t.page.c.recipient_role == RecipientRole.SUPPORTER.value] if supporters_only else []
    return int(
        await uow.session.scalar(
            sa.select(sa.func.count()).where(
                t.page.c.referral_id == referral_id, t.page.c.status == status.value, *by_role
            )
        )
        or 0
    )


async def _deployment_of_month(uow: UnitOfWork, supporter: str, site_id: str, now: datetime) -> int:
    """This acknowledgement is the supporter's n-th at the site this month (UTC), this one
    included. Metrics derives deployments per supporter from n alone, keeping nobody's ref;
    a lock per supporter keeps two acknowledgements at once from both counting n."""
    await uow.session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended("deployments:" + supporter, 0)))
    )
    month_start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(
        await uow.session.scalar(
            sa.select(sa.func.count())
            .select_from(t.page.join(t.episode, t.episode.c.referral_id == t.page.c.referral_id))
            .where(
                t.page.c.recipient == supporter,
                t.page.c.recipient_role == RecipientRole.SUPPORTER.value,
                t.page.c.status == PageStatus.ACKNOWLEDGED.value,
                t.page.c.answered_at >= month_start,
                t.episode.c.site_id == site_id,
            )
        )
        or 0
    )


@asynccontextmanager
async def _answered(
    uow: UnitOfWork, page: Any, status: PageStatus, episode: Episode, now: datetime
) -> AsyncIterator[None]:
    """The page is marked answered, and what follows is spanned, inside the referral's trace."""
    with (
        continue_trace(episode.traceparent),
        tracer.start_as_current_span(
            f"page {status.value}",
            attributes={"pss.referral_id": str(page.referral_id), "pss.step": page.step},
        ),
    ):
        await uow.session.execute(
            sa.update(t.page)
            .where(t.page.c.page_id == page.page_id)
            .values(status=status.value, answered_at=now)
        )
        yield


async def acknowledge(uow: UnitOfWork, page_id: uuid.UUID, principal: Principal) -> None:
    """The recipient takes the case. Once the case is staffed (one person, or the whole
    team of a group case), every pending page, timer and notification is cancelled."""
    page, episode = await _answerable_page(uow, page_id, principal)
    now = datetime.now(UTC)
    # the episode is locked: of two acknowledgements at once, one sees the other
    first = not await _pages_in(uow, page.referral_id, PageStatus.ACKNOWLEDGED, supporters_only=False)
    async with _answered(uow, page, PageStatus.ACKNOWLEDGED, episode, now):
        staffed = True
        if episode.team_size > 1 and page.recipient_role == RecipientRole.SUPPORTER.value:
            taken = await _pages_in(uow, page.referral_id, PageStatus.ACKNOWLEDGED)
            staffed = team_complete(taken, episode.team_size)
        if staffed:
            others = (
                await uow.session.execute(
                    sa.update(t.page)
                    .where(
                        t.page.c.referral_id == page.referral_id,
                        t.page.c.page_id != page_id,
                        t.page.c.status.in_([PageStatus.SENT.value, PageStatus.EXPIRED.value]),
                    )
                    .values(status=PageStatus.CANCELLED.value)
                    .returning(t.page.c.recipient, t.page.c.recipient_role)
                )
            ).all()
            await uow.session.execute(
                sa.update(t.episode)
                .where(t.episode.c.referral_id == page.referral_id)
                .values(status=EpisodeStatus.ACKNOWLEDGED.value, closed_at=now, acknowledged_at=now)
            )
            await cancel_pending(uow, page.referral_id, now)
            if episode.team_size > 1:
                # a broadcast: everyone still asked is told the team is filled
                for other in dict.fromkeys(
                    r.recipient for r in others if r.recipient_role == RecipientRole.SUPPORTER.value
                ):
                    await notify(
                        uow, MessageKind.FILLED, other, site_id=episode.site_id, referral_id=page.referral_id
                    )
        deployment = None
        if page.recipient_role == RecipientRole.SUPPORTER.value:
            deployment = await _deployment_of_month(uow, page.recipient, episode.site_id, now)
        await uow.emit(
            PageAcknowledged(
                page_id=page_id,
                referral_id=page.referral_id,
                site_id=episode.site_id,
                recipient=page.recipient,
                recipient_role=RecipientRole(page.recipient_role),
                step=page.step,
                seconds_to_acknowledge=max(0, int((now - page.sent_at).total_seconds())),
                deployment_of_month=deployment,
                referral_seconds_to_acknowledge=(
                    max(0, int((now - episode.started_at).total_seconds())) if first else None
                ),
            )
        )
    if first:
        time_to_acknowledge.record(max(0.0, (now - episode.started_at).total_seconds()))


async def decline(uow: UnitOfWork, page_id: uuid.UUID, principal: Principal, policy: PagingPolicy) -> None:
    """The recipient cannot take it: the next person is paged at once."""
    page, episode = await _answerable_page(uow, page_id, principal)
    now = datetime.now(UTC)
    async with _answered(uow, page, PageStatus.DECLINED, episode, now):
        await uow.emit(
            PageDeclined(
                page_id=page_id,
                referral_id=page.referral_id,
                site_id=episode.site_id,
                recipient=page.recipient,
                step=page.step,
            )
        )
        broadcast = episode.team_size > 1 and page.recipient_role == RecipientRole.SUPPORTER.value
        if escalates_on_decline(
            team_size=episode.team_size,
            declined_step=page.step,
            declined_role=RecipientRole(page.recipient_role),
            current_step=episode.step,
            current_role=chain_of(episode.chain)[episode.step].role,
            # only a broadcast needs to know how many of its pages are still out
            pages_still_out=await _pages_in(uow, page.referral_id, PageStatus.SENT) if broadcast else 0,
        ):
            await timers.cancel(
                uow.session,
                t.timer,
                now,
                t.timer.c.referral_id == page.referral_id,
                t.timer.c.step == episode.step,
                t.timer.c.kind == ACKNOWLEDGE,
            )
            await escalate(uow, episode, EscalationReason.DECLINED, policy, now)


async def close_open_pages(uow: UnitOfWork, referral_id: uuid.UUID) -> None:
    """Pages nobody answered (still out, or lapsed) can no longer be taken."""
    await uow.session.execute(
        sa.update(t.page)
        .where(
            t.page.c.referral_id == referral_id,
            t.page.c.status.in_([PageStatus.SENT.value, PageStatus.EXPIRED.value]),
        )
        .values(status=PageStatus.CANCELLED.value)
    )


async def cancel_pending(
    uow: UnitOfWork, referral_id: uuid.UUID, now: datetime, *, ended: bool = False
) -> None:
    """Stop every acknowledgement timer and every page not yet delivered. When the case
    ``ended``, its service-level clocks stop too and no message about it goes out any more;
    otherwise the clocks keep running (someone took the case, and must still call back)."""
    which = [t.timer.c.referral_id == referral_id]
    if not ended:
        which.append(t.timer.c.kind == ACKNOWLEDGE)
    await timers.cancel(uow.session, t.timer, now, *which)
    # a message being sent now is cancelled too: a failed try is then not retried
    messages = [
        t.notification.c.referral_id == referral_id,
        t.notification.c.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
    ]
    if not ended:
        messages.append(t.notification.c.kind == MessageKind.PAGE)
    await uow.session.execute(
        sa.update(t.notification).where(*messages).values(status=DeliveryStatus.CANCELLED)
    )


class LinkUsed(RuntimeError):
    """A single-use answer link came back a second time."""


async def answer_by_link(uow: UnitOfWork, link: AnswerLink, accept: bool, policy: PagingPolicy) -> None:
    """Answer a page from the link in its message, as the person it was sent to. The link's
    nonce is kept in the same transaction as the answer, so it works once."""
    used = await uow.session.scalar(
        insert(t.used_link)
        .values(nonce=link.nonce, used_at=datetime.now(UTC))
        .on_conflict_do_nothing()
        .returning(t.used_link.c.nonce)
    )
    if used is None:
        raise LinkUsed("this link was already used; sign in to see where the case stands")
    principal = Principal(
        subject=f"link:{link.recipient}", roles=frozenset({Role.PEER_SUPPORTER}), staff_ref=link.recipient
    )
    if accept:
        await acknowledge(uow, link.page_id, principal)
    else:
        await decline(uow, link.page_id, principal, policy)
