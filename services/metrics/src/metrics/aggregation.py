"""What each event adds to which aggregate, and what may be published: pure rules.

Aggregates are keyed by site, month, measure and dimension only. Nothing that could link a
row back to a case (event id, person, exact time) is kept.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from contracts.events import (
    CertificationExpired,
    CertificationGranted,
    EpisodeReopened,
    Event,
    MatchProposed,
    MatchUnmatched,
    PageAcknowledged,
    PageEscalated,
    PageExhausted,
    ReferralClosed,
    ReferralContacted,
    ReferralDeclined,
    ReferralMet,
    ReferralOffered,
    ReferralSubmitted,
    ReferralWithdrawn,
    ServiceLevelBreached,
    SupporterEligibilityChanged,
)
from contracts.types import ConnectionPath, RecipientRole

TOTAL = "total"  # the dimension of a measure counted as a whole (referrals, unmatched, ...)

# sums that are not counts of people, each published only where the count of what it adds
# up is published (same sums, so the same suppression pattern protects it)
MAGNITUDES: dict[str, str] = {"volunteer_minutes": "timed_encounters"}

# supporters by how often they were deployed at a site in a month (to watch for burnout),
# from each acknowledgement's rank in the month: the n-th moves one supporter up a bucket
DEPLOYMENT_BUCKETS = ((1, "1"), (2, "2"), (3, "3_4"), (5, "5_plus"))

# measures once counted apart that were the same events as another cell (deployments are
# the pages supporters acknowledged; group activations the referrals by path `group`):
# published twice, they were an identity an attacker could use. Older counts are ignored
RETIRED = frozenset({"deployments", "group_activations"})

# measures kept as changes and published as a level at the end of each month
GAUGES: dict[str, str] = {"supporters_eligible_change": "supporters_eligible"}

# RISE service levels (002, 001 Box 4.6)
CALLBACK_MINUTES = 30
MEETING_MINUTES = 12 * 60


@dataclass(frozen=True)
class Increment:
    measure: str
    dimension: str
    amount: int = 1  # negative for a gauge going down (a supporter no longer eligible)


@dataclass(frozen=True)
class Observation:
    """One value of a distribution (minutes to call back, say): kept as a count per value,
    so medians and percentiles are exact and no single value is ever published."""

    measure: str
    value: int


def period(at: datetime) -> str:
    return at.strftime("%Y-%m")


@dataclass
class Tally:
    """What a run of events adds up to: one event when consumed live, a million when
    rebuilt from the Kafka history; both go through here, so both count the same."""

    counts: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)  # site, month, measure, dim
    distributions: Counter[tuple[str, str, str, int]] = field(default_factory=Counter)  # ..., value

    def add(self, event: Event, site_id: str, occurred_at: datetime) -> None:
        month = period(occurred_at)
        for inc in increments(event):
            self.counts[(site_id, month, inc.measure, inc.dimension)] += inc.amount
        for seen in observations(event):
            self.distributions[(site_id, month, seen.measure, seen.value)] += 1


# every event type ``increments`` counts; the consumer subscribes to exactly these
COUNTED: tuple[type[Event], ...] = (
    ReferralSubmitted,
    ReferralOffered,
    ReferralDeclined,
    ReferralWithdrawn,
    ReferralContacted,
    ReferralMet,
    ReferralClosed,
    MatchProposed,
    MatchUnmatched,
    PageEscalated,
    PageAcknowledged,
    PageExhausted,
    ServiceLevelBreached,
    EpisodeReopened,
    CertificationGranted,
    CertificationExpired,
    SupporterEligibilityChanged,
)


def increments(event: Event) -> list[Increment]:
    if isinstance(event, ReferralSubmitted):
        counted = [
            Increment("referrals", TOTAL),
            Increment("referrals_by_reason", event.reason_category.value),
            Increment("referrals_by_path", event.path.value),
            Increment("referrals_by_tier", str(event.tier.value)),
        ]
        if event.path is ConnectionPath.GROUP:  # its activations are referrals by path `group`
            counted.append(Increment("people_reached", TOTAL, event.group_size or 0))
        return counted
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
        timed = []
        if event.duration_minutes is not None:
            timed = [
                Increment("timed_encounters", TOTAL),
                Increment("volunteer_minutes", TOTAL, event.duration_minutes),
            ]
        if event.encounter != 1:
            return [Increment("encounters", "follow_up"), *timed]
        met = event.minutes_since_referral <= MEETING_MINUTES
        return [
            Increment("encounters", "first"),
            Increment("met_within_12_hours", "yes" if met else "no"),
            *timed,
        ]
    if isinstance(event, ReferralClosed):
        return [Increment("closed", event.outcome.value)]  # onward referrals: referred_to_*
    if isinstance(event, MatchUnmatched):
        return [Increment("unmatched", TOTAL), *_profession(event)]
    if isinstance(event, MatchProposed):
        return _profession(event)
    if isinstance(event, PageEscalated):
        return [Increment("escalations", event.reason.value)]
    if isinstance(event, PageAcknowledged):
        counted = [Increment("acknowledged_pages", event.recipient_role.value)]
        if event.recipient_role is RecipientRole.SUPPORTER:  # a deployment
            counted += _deployment_bucket(event.deployment_of_month)
        return counted
    if isinstance(event, PageExhausted):
        return [Increment("nobody_answered", TOTAL)]
    if isinstance(event, ServiceLevelBreached):
        return [Increment("service_level_breaches", event.level.value)]
    if isinstance(event, EpisodeReopened):
        return [Increment("reopened", event.reason.value)]
    if isinstance(event, CertificationGranted):
        return [Increment("certifications_granted", event.course)]
    if isinstance(event, CertificationExpired):
        return [Increment("certifications_lapsed", event.course)]
    if isinstance(event, SupporterEligibilityChanged):
        # training publishes only changes: after the first, each one flips the supporter
        if event.eligible:
            return [Increment("supporters_eligible_change", TOTAL, 1)]
        return [] if event.version <= 1 else [Increment("supporters_eligible_change", TOTAL, -1)]
    return []


def _profession(decision: MatchProposed | MatchUnmatched) -> list[Increment]:
    # the group comes on a referral's first decision only: each referral counted once
    group = decision.worker_profession_group
    return [] if group is None else [Increment("referrals_by_profession", group.value)]


def _deployment_bucket(n: int | None) -> list[Increment]:
    """The n-th deployment of a supporter this month moves them from the bucket below into
    the one starting at n (if one does); the buckets always add up to supporters deployed."""
    starts = dict(DEPLOYMENT_BUCKETS)
    if n is None or n not in starts:
        return []
    moved = [Increment("supporters_by_deployments", starts[n])]
    below = [name for start, name in DEPLOYMENT_BUCKETS if start < n]
    if below:
        moved.append(Increment("supporters_by_deployments", below[-1], -1))
    return moved


def observations(event: Event) -> list[Observation]:
    if isinstance(event, PageAcknowledged) and event.referral_seconds_to_acknowledge is not None:
        # the referral's first acknowledgement only: one value per referral, from its first page
        return [Observation("seconds_to_acknowledge", event.referral_seconds_to_acknowledge)]
    if isinstance(event, ReferralContacted):
        return [Observation("minutes_to_callback", event.minutes_to_callback)]
    return []


def quantile(counts: dict[int, int], q: float) -> int | None:
    """The nearest-rank q-quantile of values kept as counts per value (None when empty)."""
    n = sum(counts.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(round(q * n, 9)))  # round first: 0.9 * 10 is 9.000000000000002
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return max(counts)
