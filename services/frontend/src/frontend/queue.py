"""The referral queue of a site: intake's open cases beside oncall's paging and clocks.

Pure: what needs the coordinator first, how long is left on each clock. The coordinator
at 3 a.m. reads the top of the list, so the rows that need a person come first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from frontend.gateway import as_time

# most pressing first: a crisis, then a clock missed, then nobody to page, ...
SEVERITY = ("crisis", "missed", "unmatched", "escalated", "undelivered", "unchecked", "awaiting_match")
# what the counts above the queue add up, in the order they are said
COUNTED = ("crisis", "escalated", "missed", "unmatched", "undelivered")
# within the same need, the most urgent request first
URGENCY = ("as_soon_as_possible", "within_hours", "within_days", "after_a_week")
# a referral with no proposal after this long is called out: matching should take seconds
MATCH_EXPECTED_SECONDS = 120


@dataclass(frozen=True)
class Clock:
    level: str  # callback | meeting
    due_at: datetime
    state: str  # running | kept | missed | stopped

    def seconds_left(self, now: datetime) -> int:
        return int((self.due_at - now).total_seconds())


@dataclass(frozen=True)
class QueueRow:
    referral_id: str
    submitted_at: datetime
    status: str
    path: str
    reason_category: str
    reason_kind: str
    urgency: str
    crisis: bool
    group_size: int | None
    paging_role: str | None
    escalated: bool
    unmatched: bool
    awaiting_match: bool
    clocks: list[Clock] = field(default_factory=list)
    # the worker is not in the directory: matched as the most senior grade, unchecked
    unchecked: bool = False
    # who is paged now (their work name, else their staff reference) and since when
    paging_who: str | None = None
    paging_since: datetime | None = None
    failed_deliveries: int = 0
    site_zone: str | None = None

    @property
    def attention(self) -> list[str]:
        """Why this row is highlighted, most pressing first."""
        flags = []
        if self.crisis:
            flags.append("crisis")
        if any(c.state == "missed" for c in self.clocks):
            flags.append("missed")
        if self.unmatched:
            flags.append("unmatched")
        if self.escalated:
            flags.append("escalated")
        if self.failed_deliveries:
            flags.append("undelivered")
        if self.unchecked:
            flags.append("unchecked")
        if self.awaiting_match:
            flags.append("awaiting_match")
        return flags

    def next_due(self) -> datetime | None:
        running = [c.due_at for c in self.clocks if c.state == "running"]
        return min(running) if running else None


def build_queue(
    referrals: list[dict[str, Any]],
    episodes: list[dict[str, Any]],
    now: datetime,
    names: dict[str, str] | None = None,
) -> list[QueueRow]:
    """The rows, what needs a person first; ``names`` are supporters' work names by staff
    reference (a coordinator paged last has none: their role is said instead)."""
    names = names or {}
    by_id = {str(e["referral_id"]): e for e in episodes}
    rows = []
    for r in referrals:
        rid = str(r["referral_id"])
        episode = by_id.get(rid)
        submitted = as_time(r["submitted_at"])
        clocks = [
            Clock(level, as_time(c["due_at"]), str(c["state"]))
            for level, c in sorted((episode or {}).get("clocks", {}).items())
        ]
        rows.append(
            QueueRow(
                referral_id=rid,
                submitted_at=submitted,
                status=str(r["status"]),
                path=str(r["path"]),
                reason_category=str(r["reason_category"]),
                reason_kind=str(r["reason_kind"]),
                urgency=str(r["urgency"]),
                crisis=bool(r.get("crisis")),
                group_size=r.get("group_size"),
                paging_role=episode.get("paging_role") if episode else None,
                escalated=bool(episode and episode.get("escalated")),
                unmatched=bool(episode and episode.get("unmatched")),
                # offers wait for the worker, not for matching
                awaiting_match=episode is None
                and r["status"] == "submitted"
                and (now - submitted).total_seconds() > MATCH_EXPECTED_SECONDS,
                clocks=clocks,
                unchecked=bool(episode and episode.get("worker_unchecked")),
                paging_who=_who(episode, names),
                paging_since=as_time(episode["paging_since"])
                if episode and episode.get("paging_since")
                else None,
                failed_deliveries=int((episode or {}).get("failed_deliveries") or 0),
                site_zone=(episode or {}).get("time_zone"),
            )
        )
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(
        rows,
        key=lambda row: (
            SEVERITY.index(row.attention[0]) if row.attention else len(SEVERITY),
            URGENCY.index(row.urgency) if row.urgency in URGENCY else len(URGENCY),
            row.next_due() or far,
            row.submitted_at,
        ),
    )


def _moment(value: Any) -> datetime | None:
    return as_time(value) if value else None


def _who(episode: dict[str, Any] | None, names: dict[str, str]) -> str | None:
    ref = (episode or {}).get("paging")
    return names.get(ref, ref) if ref else None


def counts(rows: list[QueueRow]) -> dict[str, int]:
    """How many rows need a person for each reason: the line above the queue."""
    return {flag: sum(flag in row.attention for row in rows) for flag in COUNTED}
