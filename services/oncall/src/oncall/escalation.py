"""The escalation chain of a paging episode: pure rules, no I/O (DOMAIN.md, "On call").

The chain is a snapshot taken when the episode starts; later edits to schedules or the
roster do not change a running episode. Each step pages one person. A timeout or a decline
moves to the next step; the end of the chain exhausts the episode.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from contracts.types import RecipientRole, ServiceLevel, Urgency


class EpisodeStatus(StrEnum):
    PAGING = "paging"
    ACKNOWLEDGED = "acknowledged"
    EXHAUSTED = "exhausted"
    WITHDRAWN = "withdrawn"  # the worker stopped: nobody is paged any more
    CLOSED = "closed"  # the case ended (closed, or an offer declined): nobody is paged any more


# an episode in one of these is over for good: no page, timer or message outlives it
ENDED = frozenset({EpisodeStatus.WITHDRAWN, EpisodeStatus.CLOSED})


class PageStatus(StrEnum):
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Link:
    recipient: str
    role: RecipientRole


class Episode(Protocol):
    """What the paging rules read of a running episode (a row of oncall.episode)."""

    @property
    def referral_id(self) -> uuid.UUID: ...
    @property
    def site_id(self) -> str: ...
    @property
    def chain(self) -> list[dict[str, Any]]: ...  # the Links, as stored
    @property
    def step(self) -> int: ...
    @property
    def crisis(self) -> bool: ...
    @property
    def urgency(self) -> str | None: ...
    @property
    def team_size(self) -> int: ...
    @property
    def traceparent(self) -> str | None: ...
    @property
    def status(self) -> str: ...  # an EpisodeStatus value
    @property
    def acknowledged_at(self) -> datetime | None: ...
    @property
    def contacted_at(self) -> datetime | None: ...
    @property
    def met_at(self) -> datetime | None: ...
    @property
    def reopened(self) -> int: ...


@dataclass(frozen=True)
class SiteTimeouts:
    """What the authority set for one site (through the API): each may be unset."""

    default: timedelta | None = None
    crisis: timedelta | None = None
    by_urgency: Mapping[Urgency, timedelta] = field(default_factory=dict)


def acknowledge_timeout(
    crisis: bool,
    urgency: Urgency | None,
    *,
    default: timedelta,
    crisis_timeout: timedelta,
    by_urgency: Mapping[Urgency, timedelta],
    site: SiteTimeouts | None = None,
) -> timedelta:
    """How long a page waits for an answer: a crisis has its own (short) timeout whatever its
    urgency; otherwise the urgency's own, if one was set, else the default. The site's
    settings come first, and the site's default is more specific than the deployment's
    per-urgency ones: a site that says "10 minutes" means it for every urgency it did not
    name."""
    site = site or SiteTimeouts()
    if crisis:
        return site.crisis or crisis_timeout
    if urgency and urgency in site.by_urgency:
        return site.by_urgency[urgency]
    if site.default:
        return site.default
    return by_urgency.get(urgency, default) if urgency else default


def escalates_on_decline(
    *,
    team_size: int,
    declined_step: int,
    declined_role: RecipientRole,
    current_step: int,
    current_role: RecipientRole,
    pages_still_out: int,
) -> bool:
    """Whether a decline pages the next person now. One person at a time: only the page of
    the current step moves the chain (an older, already escalated page declined late does
    not). A broadcast to a group's supporters: only when every supporter paged has answered
    no or let it lapse, and while the chain is still at its supporters (once the coordinator
    is paged, a supporter's late no changes nothing)."""
    if team_size > 1 and declined_role is RecipientRole.SUPPORTER:
        return pages_still_out == 0 and current_role is RecipientRole.SUPPORTER
    return declined_step == current_step


def build_chain(
    candidates: list[str],
    *,
    coordinator: str | None,
    fallback: str | None = None,
    supporters: int = 2,
    rounds: int = 1,
) -> list[Link]:
    """Matched supporters in matching's order (the on-duty primary and backup rank first),
    then the site coordinator, then the authority's fallback; the whole of it ``rounds``
    times (a second round pages everyone again before the episode gives up)."""
    chain = [Link(c, RecipientRole.SUPPORTER) for c in dict.fromkeys(candidates)][:supporters]
    if coordinator:
        chain.append(Link(coordinator, RecipientRole.COORDINATOR))
    if fallback and fallback != coordinator:
        chain.append(Link(fallback, RecipientRole.AUTHORITY_FALLBACK))
    return chain * max(1, rounds)


def broadcast_steps(chain: list[Link], team_size: int) -> int:
    """How many pages go out at once when an episode starts. A group case (team_size > 1)
    messages every proposed supporter together (CKHA, 001 Box 4.9) and takes the first
    ``team_size`` who acknowledge; a single case pages one person at a time."""
    if team_size <= 1:
        return 1
    return max(1, sum(1 for link in chain if link.role is RecipientRole.SUPPORTER))


def team_complete(acknowledged_supporters: int, team_size: int) -> bool:
    return acknowledged_supporters >= team_size


def next_step(chain: list[Link], current: int) -> int | None:
    """The step after ``current``, or None when the chain is exhausted."""
    return current + 1 if current + 1 < len(chain) else None


def next_answerable_step(chain: list[Link], current: int, eligible: frozenset[str] | None) -> int | None:
    """The next step worth paging: a supporter who lapsed, paused or reached the cap since the
    proposal (not in ``eligible``) is passed over; the coordinator and the authority's fallback
    never are. ``eligible`` None: nobody could tell, so the chain is paged as snapshotted."""
    following = next_step(chain, current)
    while (
        eligible is not None
        and following is not None
        and chain[following].role is RecipientRole.SUPPORTER
        and chain[following].recipient not in eligible
    ):
        following = next_step(chain, following)
    return following


def may_answer(status: EpisodeStatus, page: PageStatus) -> bool:
    """A page can be answered while the episode still looks for someone. A late
    acknowledgement of an expired page still counts: a human took the case."""
    return status is EpisodeStatus.PAGING and page in (PageStatus.SENT, PageStatus.EXPIRED)


# the worker asked to be seen later: a 12-hour meeting clock would only raise false alarms
DEFERRED = frozenset({Urgency.WITHIN_DAYS, Urgency.AFTER_A_WEEK})


@dataclass(frozen=True)
class ServiceLevels:
    """RISE: called back within 30 minutes, met within 12 hours (both configurable)."""

    callback_within: timedelta = timedelta(minutes=30)
    meet_within: timedelta = timedelta(hours=12)
    reopen_at_most: int = 1

    def clocks(
        self, started: datetime, urgency: Urgency | None, crisis: bool
    ) -> dict[ServiceLevel, datetime]:
        """When each clock of a case runs out. Every case is called back in time; the
        meeting clock runs unless the worker asked to meet in days (a crisis always runs)."""
        due = {ServiceLevel.CALLBACK: started + self.callback_within}
        if crisis or urgency not in DEFERRED:
            due[ServiceLevel.MEETING] = started + self.meet_within
        return due

    def target_minutes(self, level: ServiceLevel) -> int:
        within = self.callback_within if level is ServiceLevel.CALLBACK else self.meet_within
        return max(1, math.ceil(within.total_seconds() / 60))


def reopen_step(
    chain: list[Link], acknowledged_step: int, reopened: int, levels: ServiceLevels
) -> int | None:
    """Where a case that was taken but never called back starts paging again: the step
    after the one who took it. None when it has been re-opened enough (the coordinator
    is alerted either way) or nobody is left."""
    if reopened >= levels.reopen_at_most:
        return None
    return next_step(chain, acknowledged_step)


class ClockState(StrEnum):
    """Where a service-level clock of a case stands, for the coordinator's queue."""

    RUNNING = "running"
    KEPT = "kept"  # done before the clock ran out
    MISSED = "missed"  # it ran out first (done late, or not yet done)
    STOPPED = "stopped"  # the case ended before anything was due


def clock_state(
    due_at: datetime, done_at: datetime | None, fired_at: datetime | None, cancelled_at: datetime | None
) -> ClockState:
    if done_at is not None:
        return ClockState.KEPT if done_at <= due_at else ClockState.MISSED
    if fired_at is not None:
        return ClockState.MISSED
    return ClockState.STOPPED if cancelled_at is not None else ClockState.RUNNING


def escalated(pages: list[tuple[PageStatus, RecipientRole]]) -> bool:
    """Paging went past the people it started with: someone let a page time out or
    declined it, or it reached the coordinator (or the authority's fallback)."""
    return any(
        status in (PageStatus.EXPIRED, PageStatus.DECLINED) or role is not RecipientRole.SUPPORTER
        for status, role in pages
    )
