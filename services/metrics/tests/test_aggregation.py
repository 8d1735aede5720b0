"""What each event counts, and what may be published."""

import uuid
from datetime import UTC, datetime

from contracts.events import ReferralSubmitted
from metrics.aggregation import Increment, increments, period, publishable


def test_a_referral_counts_once_by_reason_and_once_by_path():
    event = ReferralSubmitted(
        referral_id=uuid.uuid4(),
        site_id="north",
        path="self",
        reason_category="patient_safety_incident",
        reason_kind="near_miss",
        urgency="within_days",
        modality="phone",
    )
    assert increments(event) == [
        Increment("referrals", "all"),
        Increment("referrals_by_reason", "patient_safety_incident"),
        Increment("referrals_by_path", "self"),
    ]


def test_a_count_below_the_threshold_is_withheld():
    assert publishable(4, suppress_below=5) is None
    assert publishable(5, suppress_below=5) == 5


def test_aggregates_are_monthly():
    assert period(datetime(2026, 3, 31, 23, 59, tzinfo=UTC)) == "2026-03"
