"""The escalation chain of a paging episode: pure rules, no I/O (DOMAIN.md, "On call").

The chain is a snapshot taken when the episode starts; later edits to schedules or the
roster do not change a running episode. Each step pages one person. A timeout or a decline
moves to the next step; the end of the chain exhausts the episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.types import RecipientRole


class EpisodeStatus(StrEnum):
    PAGING = "paging"
    ACKNOWLEDGED = "acknowledged"
    EXHAUSTED = "exhausted"


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


def build_chain(
    candidates: list[str],
    *,
    coordinator: str | None,
    fallback: str | None = None,
    supporters: int = 2,
) -> list[Link]:
    """Matched supporters in matching's order (the on-duty primary and backup rank first),
    then the site coordinator, then the authority's fallback."""
    chain = [Link(c, RecipientRole.SUPPORTER) for c in dict.fromkeys(candidates)][:supporters]
    if coordinator:
        chain.append(Link(coordinator, RecipientRole.COORDINATOR))
    if fallback and fallback != coordinator:
        chain.append(Link(fallback, RecipientRole.AUTHORITY_FALLBACK))
    return chain


def next_step(chain: list[Link], current: int) -> int | None:
    """The step after ``current``, or None when the chain is exhausted."""
    return current + 1 if current + 1 < len(chain) else None


def may_answer(status: EpisodeStatus, page: PageStatus) -> bool:
    """A page can be answered while the episode still looks for someone. A late
    acknowledgement of an expired page still counts: a human took the case."""
    return status is EpisodeStatus.PAGING and page in (PageStatus.SENT, PageStatus.EXPIRED)
