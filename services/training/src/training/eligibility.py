"""Who may be offered for matching (DOMAIN.md, "Training and certification"): pure rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Verdict:
    eligible: bool
    missing: tuple[str, ...]  # required courses not completed or expired, sorted


def expiry(completed_on: date, validity_days: int | None) -> date | None:
    """Re-training every two years by default; a course without validity never expires."""
    return None if validity_days is None else completed_on + timedelta(days=validity_days)


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
