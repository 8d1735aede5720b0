"""oncall's use cases, as plain functions over a unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import (
    CertificationExpiring,
    DebriefPrompted,
    DutyChanged,
    EpisodeReopened,
    MatchOverridden,
    MatchProposed,
    MatchUnmatched,
    PageAcknowledged,
    PageDeclined,
    PageEscalated,
    PageExhausted,
    PageSent,
    ReferralClosed,
    ReferralContacted,
    ReferralDeclined,
    ReferralMet,
    ReferralWithdrawn,
    ServiceLevelBreached,
)
from contracts.types import DutyLayer, EscalationReason, RecipientRole, ReopenReason, ServiceLevel, Urgency
from opentelemetry import metrics, trace
from servicekit.auth import Principal, Role
from servicekit.database import UnitOfWork, UnitOfWorkFactory
from servicekit.telemetry import continue_trace, current_traceparent
from servicekit.timers import claim_due
from sqlalchemy.dialects.postgresql import insert

from oncall import tables as t
from oncall.eligibility import EligibleNow, trust_the_snapshot
from oncall.escalation import (
    ENDED,
    ClockState,
    EpisodeStatus,
    Link,
    PageStatus,
    ServiceLevels,
    broadcast_steps,
    build_chain,
    clock_state,
    escalated,
    may_answer,
    next_step,
    reopen_step,
    team_complete,
)
from oncall.links import AnswerLink

tracer = trace.get_tracer("oncall")
# operations: how long a referral waits until someone takes it (its first acknowledgement);
# the buckets bracket the 30-minute call-back target
time_to_acknowledge = metrics.get_meter("oncall").create_histogram(
    "pss.referral.time_to_acknowledge",
    unit="s",
    description="seconds from a referral's first page to its first acknowledgement",
    explicit_bucket_boundaries_advisory=[15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200],
)


ACKNOWLEDGE = "acknowledge"  # the timer kind of a page waiting for an answer


@dataclass(frozen=True)
class PagingPolicy:
    ack_timeout: timedelta
    crisis_ack_timeout: timedelta
    supporters_in_chain: int
    eligible_now: EligibleNow = trust_the_snapshot
    # a calmer request may wait longer for an answer (e.g. {within_days: 1 hour})
    ack_timeout_by_urgency: dict[Urgency, timedelta] = field(default_factory=dict)
    fallback: str | None = None  # the authority's last resort after the site coordinator
    rounds: int = 1  # how many times the whole chain is paged before the episode gives up
    levels: ServiceLevels = field(default_factory=ServiceLevels)

    def timeout(self, crisis: bool, urgency: Urgency | None = None) -> timedelta:
        if crisis:
            return self.crisis_ack_timeout
        return self.ack_timeout_by_urgency.get(urgency, self.ack_timeout) if urgency else self.ack_timeout


class PageNotFound(LookupError):
    pass


class PageClosed(RuntimeError):
    """The page can no longer be answered (someone else took the case, or it ended)."""


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
    exists = await uow.session.scalar(
        sa.select(t.episode.c.referral_id).where(t.episode.c.referral_id == referral_id)
    )
    if exists is not None:
        return  # redelivered, or the worker withdrew before the proposal arrived
    coordinator = await _coordinator(uow, site_id)
    chain = build_chain(
        ranked,
        coordinator=coordinator,
        fallback=policy.fallback,
        supporters=len(ranked) if team_size > 1 else policy.supporters_in_chain,
        rounds=policy.rounds,
    )
    now = datetime.now(UTC)
    at_once = broadcast_steps(chain, team_size)
    await uow.session.execute(
        sa.insert(t.episode).values(
            referral_id=referral_id,
            site_id=site_id,
            chain=[{"recipient": link.recipient, "role": link.role.value} for link in chain],
            crisis=crisis,
            step=at_once - 1,
            status=EpisodeStatus.PAGING.value,
            team_size=team_size,
            traceparent=current_traceparent(),
            started_at=now,
            urgency=urgency.value if urgency else None,
            worker_unchecked=worker_unchecked,
        )
    )
    # the case's service-level clocks run from now, whoever answers
    levels = await service_levels(uow, site_id, policy)
    for level, due in levels.clocks(now, urgency, crisis).items():
        await uow.session.execute(
            sa.insert(t.timer).values(referral_id=referral_id, step=0, kind=level.value, due_at=due)
        )
    if not chain:
        await uow.session.execute(
            sa.update(t.episode)
            .where(t.episode.c.referral_id == referral_id)
            .values(status=EpisodeStatus.EXHAUSTED.value, closed_at=now)
        )
        await uow.emit(PageExhausted(referral_id=referral_id, site_id=site_id, steps=1), site_id=site_id)
        return
    for step in range(at_once):
        # one acknowledgement timer for the whole broadcast: on the last page sent
        await _page(
            uow,
            referral_id,
            site_id,
            chain,
            step,
            crisis,
            policy,
            now,
            timer=step == at_once - 1,
            urgency=urgency,
        )


def on_match_overridden(policy: PagingPolicy):  # type: ignore[no-untyped-def]
    """A coordinator chose the supporter: every pending page of the episode is cancelled
    and the chosen supporter is paged, with the coordinator behind them. The chain grows
    (steps stay unique), so the page history keeps what happened before the override."""

    async def handle(event: MatchOverridden, uow: UnitOfWork, _envelope: Envelope) -> None:
        episode = await _locked_episode(uow, event.referral_id)
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
        chain = _chain(episode.chain)
        now = datetime.now(UTC)
        await _close_open_pages(uow, event.referral_id)
        await _cancel_pending(uow, event.referral_id, now)
        coordinator = await _coordinator(uow, event.site_id)
        # the case was re-assigned, so whoever took it before no longer holds it
        grown = [*chain, Link(event.supporter, RecipientRole.SUPPORTER)]
        if coordinator:
            grown.append(Link(coordinator, RecipientRole.COORDINATOR))
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
        await _page(
            uow,
            event.referral_id,
            event.site_id,
            grown,
            step,
            episode.crisis,
            policy,
            now,
            urgency=event.urgency,
        )

    return handle


async def service_levels(uow: UnitOfWork, site_id: str, policy: PagingPolicy) -> ServiceLevels:
    """The site's service levels where the authority set them, else the service's."""
    row = (
        await uow.session.execute(
            sa.select(t.site_service_levels).where(t.site_service_levels.c.site_id == site_id)
        )
    ).first()
    if row is None:
        return policy.levels
    return replace(
        policy.levels,
        callback_within=timedelta(seconds=row.callback_within_seconds),
        meet_within=timedelta(seconds=row.meet_within_seconds),
    )


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
    await uow.commit()


async def _coordinator(uow: UnitOfWork, site_id: str) -> str | None:
    return await uow.session.scalar(  # type: ignore[no-any-return]
        sa.select(t.duty.c.staff_ref).where(t.duty.c.site_id == site_id, t.duty.c.layer == "coordinator")
    )


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
    episode = await _locked_episode(uow, referral_id)
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
    await _close_open_pages(uow, referral_id)
    await _cancel_pending(uow, referral_id, now, ended=True)


async def _page(
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
) -> None:
    link = chain[step]
    page_id = uuid.uuid4()
    urgency = Urgency(urgency) if urgency else None
    due = now + policy.timeout(crisis, urgency)
    await uow.session.execute(
        sa.insert(t.page).values(
            page_id=page_id,
            referral_id=referral_id,
            step=step,
            recipient=link.recipient,
            recipient_role=link.role.value,
            status=PageStatus.SENT.value,
            sent_at=now,
            acknowledge_by=due,
        )
    )
    if timer:
        await uow.session.execute(
            sa.insert(t.timer).values(referral_id=referral_id, step=step, kind=ACKNOWLEDGE, due_at=due)
        )
    await notify(
        uow,
        "page",
        link.recipient,
        site_id=site_id,
        referral_id=referral_id,
        page_id=page_id,
        detail={
            "crisis": crisis,
            "role": link.role.value,
            "acknowledge_by": due.strftime("%Y-%m-%d %H:%M"),
        },
    )
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
        ),
        site_id=site_id,
    )


def _chain(raw: list[dict[str, str]]) -> list[Link]:
    return [Link(item["recipient"], RecipientRole(item["role"])) for item in raw]


async def _escalate(
    uow: UnitOfWork, episode: Any, reason: EscalationReason, policy: PagingPolicy, now: datetime
) -> None:
    chain = _chain(episode.chain)
    following = next_step(chain, episode.step)
    if following is not None and chain[following].role is RecipientRole.SUPPORTER:
        # a supporter who lapsed, paused or reached the cap since the proposal is passed over
        eligible = await policy.eligible_now(episode.referral_id)
        while (
            eligible is not None
            and following is not None
            and chain[following].role is RecipientRole.SUPPORTER
            and chain[following].recipient not in eligible
        ):
            following = next_step(chain, following)
    if following is None:
        await uow.session.execute(
            sa.update(t.episode)
            .where(t.episode.c.referral_id == episode.referral_id)
            .values(status=EpisodeStatus.EXHAUSTED.value, closed_at=now)
        )
        await uow.emit(
            PageExhausted(referral_id=episode.referral_id, site_id=episode.site_id, steps=len(chain)),
            site_id=episode.site_id,
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
        ),
        site_id=episode.site_id,
    )
    await _page_episode(uow, episode, chain, following, policy, now)


async def _page_episode(
    uow: UnitOfWork, episode: Any, chain: list[Link], step: int, policy: PagingPolicy, now: datetime
) -> None:
    """Page the person at ``step`` of a running episode's chain."""
    await _page(
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
    kind: str,
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
            status="pending",
            detail={"site_id": site_id, **(detail or {})},
        )
    )


async def fire_due_timers(uow: UnitOfWork, policy: PagingPolicy, *, limit: int = 50) -> int:
    """Act on every due timer: escalate an episode whose acknowledgement is late, or report
    a service level missed. Each fires exactly once (servicekit.timers)."""
    now = datetime.now(UTC)
    due = await claim_due(uow.session, t.timer, now, limit=limit)
    for timer in due:
        episode = await _locked_episode(uow, timer.referral_id)
        if episode is None:
            continue
        if timer.kind != ACKNOWLEDGE:
            await _service_level_due(uow, episode, ServiceLevel(timer.kind), policy, now)
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
            await _escalate(uow, episode, EscalationReason.NOT_ACKNOWLEDGED, policy, now)
    await uow.commit()
    return len(due)


async def _service_level_due(
    uow: UnitOfWork, episode: Any, level: ServiceLevel, policy: PagingPolicy, now: datetime
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
            ),
            site_id=episode.site_id,
        )
        reopened = False
        if level is ServiceLevel.CALLBACK and acknowledged:
            reopened = await _reopen(uow, episode, policy, levels, now)
        coordinator = await _coordinator(uow, episode.site_id)
        if coordinator:
            await notify(
                uow,
                "breach",
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
    uow: UnitOfWork, episode: Any, policy: PagingPolicy, levels: ServiceLevels, now: datetime
) -> bool:
    chain = _chain(episode.chain)
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
        ),
        site_id=episode.site_id,
    )
    await _page_episode(uow, episode, chain, following, policy, now)
    # the next person gets a fresh callback clock of their own
    await uow.session.execute(
        sa.insert(t.timer).values(
            referral_id=episode.referral_id,
            step=following,
            kind=ServiceLevel.CALLBACK.value,
            due_at=now + levels.callback_within,
        )
    )
    return True


async def on_referral_contacted(event: ReferralContacted, uow: UnitOfWork, _envelope: Envelope) -> None:
    await _clock_stopped(uow, event.referral_id, ServiceLevel.CALLBACK)


async def on_referral_met(event: ReferralMet, uow: UnitOfWork, _envelope: Envelope) -> None:
    await _clock_stopped(uow, event.referral_id, ServiceLevel.MEETING)


async def on_certification_expiring(
    event: CertificationExpiring, uow: UnitOfWork, _envelope: Envelope
) -> None:
    """training's reminder ahead of an expiry goes to the supporter and to their site's
    coordinator, through the same routes as a page."""
    detail = {
        "course": event.course,
        "expires_on": event.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        "days_before": event.days_before,
        "supporter": event.supporter,
    }
    await notify(uow, "reminder", event.supporter, site_id=event.home_site, detail=detail)
    coordinator = await _coordinator(uow, event.home_site)
    if coordinator and coordinator != event.supporter:
        await notify(uow, "reminder", coordinator, site_id=event.home_site, detail=detail)


async def on_debrief_prompted(event: DebriefPrompted, uow: UnitOfWork, _envelope: Envelope) -> None:
    """After an encounter, training offers the supporter a debrief; the message goes to
    them alone, through their own routes."""
    await notify(
        uow, "debrief", event.supporter, site_id=event.home_site, detail={"prompt_id": str(event.prompt_id)}
    )


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
    await uow.session.execute(
        sa.update(t.timer)
        .where(
            t.timer.c.referral_id == referral_id,
            t.timer.c.kind.in_([s.value for s in stopped]),
            t.timer.c.fired_at.is_(None),
            t.timer.c.cancelled_at.is_(None),
        )
        .values(cancelled_at=now)
    )


async def _locked_episode(uow: UnitOfWork, referral_id: uuid.UUID) -> Any:
    return (
        await uow.session.execute(
            sa.select(t.episode).where(t.episode.c.referral_id == referral_id).with_for_update()
        )
    ).first()


async def _answerable_page(uow: UnitOfWork, page_id: uuid.UUID, principal: Principal) -> tuple[Any, Any]:
    page = (
        await uow.session.execute(sa.select(t.page).where(t.page.c.page_id == page_id).with_for_update())
    ).first()
    if page is None or page.recipient != principal.staff_ref:
        raise PageNotFound(page_id)  # a page is answered by the person it was sent to
    episode = await _locked_episode(uow, page.referral_id)
    if not may_answer(EpisodeStatus(episode.status), PageStatus(page.status)):
        raise PageClosed(f"this page is closed: the case is {episode.status}")
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


async def acknowledge(uow: UnitOfWork, page_id: uuid.UUID, principal: Principal) -> None:
    """The recipient takes the case. Once the case is staffed (one person, or the whole
    team of a group case), every pending page, timer and notification is cancelled."""
    page, episode = await _answerable_page(uow, page_id, principal)
    now = datetime.now(UTC)
    # the episode is locked: of two acknowledgements at once, one sees the other
    first = not await _pages_in(uow, page.referral_id, PageStatus.ACKNOWLEDGED, supporters_only=False)
    with (
        continue_trace(episode.traceparent),
        tracer.start_as_current_span(
            "page acknowledged", attributes={"pss.referral_id": str(page.referral_id), "pss.step": page.step}
        ),
    ):
        await uow.session.execute(
            sa.update(t.page)
            .where(t.page.c.page_id == page_id)
            .values(status=PageStatus.ACKNOWLEDGED.value, answered_at=now)
        )
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
            await _cancel_pending(uow, page.referral_id, now)
            if episode.team_size > 1:
                # a broadcast: everyone still asked is told the team is filled
                for other in dict.fromkeys(
                    r.recipient for r in others if r.recipient_role == RecipientRole.SUPPORTER.value
                ):
                    await notify(uow, "filled", other, site_id=episode.site_id, referral_id=page.referral_id)
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
            ),
            site_id=episode.site_id,
        )
    await uow.commit()
    if first:
        time_to_acknowledge.record(max(0.0, (now - episode.started_at).total_seconds()))


async def decline(uow: UnitOfWork, page_id: uuid.UUID, principal: Principal, policy: PagingPolicy) -> None:
    """The recipient cannot take it: the next person is paged at once."""
    page, episode = await _answerable_page(uow, page_id, principal)
    now = datetime.now(UTC)
    with (
        continue_trace(episode.traceparent),
        tracer.start_as_current_span(
            "page declined", attributes={"pss.referral_id": str(page.referral_id), "pss.step": page.step}
        ),
    ):
        await uow.session.execute(
            sa.update(t.page)
            .where(t.page.c.page_id == page_id)
            .values(status=PageStatus.DECLINED.value, answered_at=now)
        )
        await uow.emit(
            PageDeclined(
                page_id=page_id,
                referral_id=page.referral_id,
                site_id=episode.site_id,
                recipient=page.recipient,
                step=page.step,
            ),
            site_id=episode.site_id,
        )
        if episode.team_size > 1 and page.recipient_role == RecipientRole.SUPPORTER.value:
            # a broadcast escalates early only when every supporter paged has answered no
            # or let it lapse, and the coordinator has not been paged yet
            still_open = await _pages_in(uow, page.referral_id, PageStatus.SENT)
            chain = _chain(episode.chain)
            must_escalate = still_open == 0 and chain[episode.step].role is RecipientRole.SUPPORTER
        else:
            must_escalate = page.step == episode.step
        if must_escalate:
            await uow.session.execute(
                sa.update(t.timer)
                .where(
                    t.timer.c.referral_id == page.referral_id,
                    t.timer.c.step == episode.step,
                    t.timer.c.kind == ACKNOWLEDGE,
                    t.timer.c.fired_at.is_(None),
                )
                .values(cancelled_at=now)
            )
            await _escalate(uow, episode, EscalationReason.DECLINED, policy, now)
    await uow.commit()


async def _close_open_pages(uow: UnitOfWork, referral_id: uuid.UUID) -> None:
    """Pages nobody answered (still out, or lapsed) can no longer be taken."""
    await uow.session.execute(
        sa.update(t.page)
        .where(
            t.page.c.referral_id == referral_id,
            t.page.c.status.in_([PageStatus.SENT.value, PageStatus.EXPIRED.value]),
        )
        .values(status=PageStatus.CANCELLED.value)
    )


async def _cancel_pending(
    uow: UnitOfWork, referral_id: uuid.UUID, now: datetime, *, ended: bool = False
) -> None:
    """Stop every acknowledgement timer and every page not yet delivered. When the case
    ``ended``, its service-level clocks stop too and no message about it goes out any more;
    otherwise the clocks keep running (someone took the case, and must still call back)."""
    timers = [
        t.timer.c.referral_id == referral_id,
        t.timer.c.fired_at.is_(None),
        t.timer.c.cancelled_at.is_(None),
    ]
    if not ended:
        timers.append(t.timer.c.kind == ACKNOWLEDGE)
    await uow.session.execute(sa.update(t.timer).where(*timers).values(cancelled_at=now))
    # a message being sent now is cancelled too: a failed try is then not retried
    messages = [
        t.notification.c.referral_id == referral_id,
        t.notification.c.status.in_(["pending", "sending"]),
    ]
    if not ended:
        messages.append(t.notification.c.kind == "page")
    await uow.session.execute(sa.update(t.notification).where(*messages).values(status="cancelled"))


async def set_duty(uow: UnitOfWork, site_id: str, assignments: dict[str, str | None]) -> None:
    """Who is on duty now; supporter layers are published for matching to rank by."""
    now = datetime.now(UTC)
    for layer, staff_ref in assignments.items():
        previous = await uow.session.scalar(
            sa.select(t.duty.c.staff_ref).where(t.duty.c.site_id == site_id, t.duty.c.layer == layer)
        )
        stmt = insert(t.duty).values(site_id=site_id, layer=layer, staff_ref=staff_ref, starts_at=now)
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["site_id", "layer"], set_={"staff_ref": staff_ref, "starts_at": now}
            )
        )
        if layer in (DutyLayer.PRIMARY.value, DutyLayer.BACKUP.value) and previous != staff_ref:
            await uow.emit(
                DutyChanged(site_id=site_id, layer=DutyLayer(layer), supporter=staff_ref, starts_at=now),
                site_id=site_id,
            )
    await uow.commit()


async def pages_of(uow: UnitOfWork, referral_id: uuid.UUID) -> tuple[str | None, list[dict[str, Any]]]:
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
    deliveries: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for n in (
        await uow.session.execute(
            sa.select(t.notification)
            .where(t.notification.c.referral_id == referral_id, t.notification.c.page_id.is_not(None))
            .order_by(t.notification.c.notification_id)
        )
    ).all():
        deliveries.setdefault(n.page_id, []).append(
            {
                "channel": n.channel,
                "route": n.route + 1,
                "status": n.status,
                "attempts": n.attempts,
                "last_failure": n.last_error,
                "delivered_at": n.delivered_at,
            }
        )
    return site, [{**r._mapping, "notifications": deliveries.get(r.page_id, [])} for r in rows]


# a case of oncall's stays in the coordinator's queue this long at most after it started
QUEUE_HORIZON = timedelta(days=90)


async def site_episodes(uow: UnitOfWork, site_id: str, now: datetime) -> list[dict[str, Any]]:
    """The site's episodes that still need something (paging, or a clock not yet kept):
    who is paged now, whether it escalated, and each service-level clock."""
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
    for page in (
        await uow.session.execute(
            sa.select(t.page.c.referral_id, t.page.c.status, t.page.c.recipient_role).where(
                t.page.c.referral_id.in_(ids)
            )
        )
    ).all():
        pages.setdefault(page.referral_id, []).append(
            (PageStatus(page.status), RecipientRole(page.recipient_role))
        )
    out = []
    for e in episodes:
        chain = _chain(e.chain)
        clocks = {}
        for level in ServiceLevel:
            rows = timers.get((e.referral_id, level.value), [])
            if not rows:
                continue
            done = e.contacted_at if level is ServiceLevel.CALLBACK else e.met_at
            states = [clock_state(r.due_at, done, r.fired_at, r.cancelled_at) for r in rows]
            # a re-open gives a fresh callback clock: the latest counts down, any miss stays
            clocks[level.value] = {
                "due_at": rows[-1].due_at,
                "state": (ClockState.MISSED if ClockState.MISSED in states else states[-1]).value,
            }
        paging = e.status == EpisodeStatus.PAGING.value and e.step < len(chain)
        out.append(
            {
                "referral_id": e.referral_id,
                "status": e.status,
                "crisis": e.crisis,
                "urgency": e.urgency,
                "team_size": e.team_size,
                "started_at": e.started_at,
                "acknowledged_at": e.acknowledged_at,
                "unmatched": not any(link.role is RecipientRole.SUPPORTER for link in chain),
                "escalated": escalated(pages.get(e.referral_id, [])),
                "paging_role": chain[e.step].role.value if paging else None,
                "reopened": e.reopened,
                # the worker is not in the directory: no seniority or reporting-line check
                "worker_unchecked": e.worker_unchecked,
                "clocks": clocks,
            }
        )
    return out


async def fire_due_timers_once(uow: UnitOfWorkFactory, policy: PagingPolicy) -> int:
    async with uow() as unit:
        return await fire_due_timers(unit, policy)


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
