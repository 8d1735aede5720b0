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
    ReferralClosed,
    ReferralContacted,
    ReferralDeclined,
    ReferralMet,
    ReferralOffered,
    ReferralSubmitted,
    ReferralWithdrawn,
)

# RISE service levels (002, 001 Box 4.6)
CALLBACK_MINUTES = 30
MEETING_MINUTES = 12 * 60


@dataclass(frozen=True)
class Increment:
    measure: str
    dimension: str
    amount: int = 1


def period(at: datetime) -> str:
    return at.strftime("%Y-%m")


# every event type ``increments`` counts; the consumer subscribes to exactly these
COUNTED: tuple[type[Event], ...] = (
    ReferralSubmitted,
    ReferralOffered,
    ReferralDeclined,
    ReferralWithdrawn,
    ReferralContacted,
    ReferralMet,
    ReferralClosed,
    MatchUnmatched,
    PageEscalated,
    PageAcknowledged,
)


def increments(event: Event) -> list[Increment]:
    if isinstance(event, ReferralSubmitted):
        return [
            Increment("referrals", "all"),
            Increment("referrals_by_reason", event.reason_category.value),
            Increment("referrals_by_path", event.path.value),
        ]
    if isinstance(event, ReferralOffered):
        return [Increment("offers", event.source.value)]
    if isinstance(event, ReferralDeclined):
        return [Increment("offers_not_taken", event.ended.value)]
    if isinstance(event, ReferralWithdrawn):
        return [Increment("withdrawals", event.stage.value)]
    if isinstance(event, ReferralContacted):
        met = event.minutes_to_callback <= CALLBACK_MINUTES
        return [Increment("callback_within_30_minutes", "yes" if met else "no")]
    if isinstance(event, ReferralMet):
        if event.encounter != 1:
            return [Increment("encounters", "follow_up")]
        met = event.minutes_since_referral <= MEETING_MINUTES
        return [Increment("encounters", "first"), Increment("met_within_12_hours", "yes" if met else "no")]
    if isinstance(event, ReferralClosed):
        return [Increment("closed", event.outcome.value)]
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
