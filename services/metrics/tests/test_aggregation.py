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


def test_service_levels_are_counted_against_the_rise_targets():
    from contracts.events import ReferralContacted, ReferralMet

    rid = uuid.uuid4()
    assert increments(ReferralContacted(referral_id=rid, site_id="north", minutes_to_callback=30)) == [
        Increment("callback_within_30_minutes", "yes")
    ]
    assert increments(ReferralContacted(referral_id=rid, site_id="north", minutes_to_callback=31)) == [
        Increment("callback_within_30_minutes", "no")
    ]
    first = ReferralMet(referral_id=rid, site_id="north", encounter=1, minutes_since_referral=13 * 60)
    assert Increment("met_within_12_hours", "no") in increments(first)
    later = ReferralMet(referral_id=rid, site_id="north", encounter=2, minutes_since_referral=99999)
    assert increments(later) == [Increment("encounters", "follow_up")]  # only the first meeting has a target
