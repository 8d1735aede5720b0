"""Who may be offered for matching (DOMAIN.md, "Training and certification"): pure rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

D = TypeVar("D", date, datetime)


@dataclass(frozen=True)
class Verdict:
    eligible: bool
    missing: tuple[str, ...]  # required courses not completed or expired, sorted


def expiry(completed: D, validity_days: int | None) -> D | None:
    """Re-training every two years by default; a course without validity never expires."""
    return None if validity_days is None else completed + timedelta(days=validity_days)


def reminders_due(
    expires_at: datetime, days_before: Iterable[float], now: datetime
) -> list[tuple[float, datetime]]:
    """When each reminder goes out. One whose moment has passed already (a completion
    recorded late) is not sent: a burst of stale reminders helps nobody."""
    return sorted(
        (
            (d, expires_at - timedelta(days=d))
            for d in set(days_before)
            if expires_at - timedelta(days=d) > now
        ),
        key=lambda pair: pair[1],
    )


def verdict(
    *,
    active: bool,
    required: Iterable[str],
    current: Mapping[str, date | None],
    today: date,
) -> Verdict:
    """Eligible only while active in the program and every required course is current.

    ``current`` maps a completed course to its latest expiry (None: does not expire). A
    certification is valid up to and including the day before its expiry date."""
    missing = tuple(
        sorted(c for c in required if c not in current or (current[c] is not None and current[c] <= today))  # type: ignore[operator]
    )
    return Verdict(eligible=active and not missing, missing=missing)
