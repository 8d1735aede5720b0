"""What each event adds to which aggregate, and what may be published: pure rules.

Aggregates are keyed by site, month, measure and dimension only. Nothing that could link a
row back to a case (event id, person, exact time) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.events import (
    Event,
    MatchUnmatched,
    PageAcknowledged,
    PageEscalated,
    ReferralSubmitted,
)


@dataclass(frozen=True)
class Increment:
    measure: str
    dimension: str
    amount: int = 1


def period(at: datetime) -> str:
    return at.strftime("%Y-%m")


def increments(event: Event) -> list[Increment]:
    if isinstance(event, ReferralSubmitted):
        return [
            Increment("referrals", "all"),
            Increment("referrals_by_reason", event.reason_category.value),
            Increment("referrals_by_path", event.path.value),
        ]
    if isinstance(event, MatchUnmatched):
        return [Increment("unmatched", "all")]
    if isinstance(event, PageEscalated):
        return [Increment("escalations", event.reason.value)]
    if isinstance(event, PageAcknowledged):
        return [Increment("acknowledged_pages", event.recipient_role.value)]
    return []


def publishable(value: int, *, suppress_below: int) -> int | None:
    """A count below k is withheld (None). Complementary suppression comes with issue 6."""
    return value if value >= suppress_below else None
