"""What each event counts, and what may be published."""

import math
import uuid
from collections import Counter
from datetime import UTC, datetime

from contracts.events import (
    Candidate,
    MatchProposed,
    MatchUnmatched,
    PageAcknowledged,
    ReferralContacted,
    ReferralMet,
    ReferralSubmitted,
    SupporterEligibilityChanged,
)
from hypothesis import given
from hypothesis import strategies as st
from metrics.aggregation import (
    TOTAL,
    Increment,
    Observation,
    Tally,
    increments,
    observations,
    period,
    quantile,
)


def test_a_referral_counts_once_by_reason_once_by_path_and_once_by_tier():
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
        Increment("referrals", TOTAL),
        Increment("referrals_by_reason", "patient_safety_incident"),
        Increment("referrals_by_path", "self"),
        Increment("referrals_by_tier", "2"),
    ]


def test_a_tally_of_many_events_adds_what_each_would_add_alone():
    north, south = "north", "south"
    march, april = datetime(2026, 3, 31, 23, 59, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    from contracts.events import ReferralContacted

    tally = Tally()
    for site, at in [(north, march), (north, march), (south, march), (north, april)]:
        tally.add(ReferralContacted(referral_id=uuid.uuid4(), site_id=site, minutes_to_callback=12), site, at)
    assert tally.counts == Counter(
        {
            (north, "2026-03", "callback_within_30_minutes", "yes"): 2,
            (south, "2026-03", "callback_within_30_minutes", "yes"): 1,
            (north, "2026-04", "callback_within_30_minutes", "yes"): 1,
        }
    )
    assert tally.distributions[(north, "2026-03", "minutes_to_callback", 12)] == 2


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


def test_a_group_activation_counts_the_people_it_reached_and_is_a_referral_by_path_group_once():
    event = ReferralSubmitted(
        referral_id=uuid.uuid4(),
        site_id="north",
        path="group",
        reason_category="patient_safety_incident",
        reason_kind="unexpected_patient_death",
        urgency="as_soon_as_possible",
        modality="in_person",
        group_size=14,
    )
    counted = increments(event)
    assert Increment("referrals_by_path", "group") in counted
    assert Increment("people_reached", TOTAL, 14) in counted
    # never a measure of its own as well: two cells of the same events are an identity
    assert not [i for i in counted if i.measure == "group_activations"]


def test_eligibility_moves_the_gauge_only_on_a_real_change():
    def changed(eligible: bool, version: int) -> list[Increment]:
        return increments(
            SupporterEligibilityChanged(
                supporter="st-ab", home_site="north", eligible=eligible, version=version
            )
        )

    assert changed(False, 1) == []  # registered, never eligible: nothing was counted before
    assert changed(True, 1) == [Increment("supporters_eligible_change", TOTAL, 1)]
    assert changed(False, 2) == [Increment("supporters_eligible_change", TOTAL, -1)]
    assert changed(True, 3) == [Increment("supporters_eligible_change", TOTAL, 1)]


def test_times_are_kept_as_values_for_exact_percentiles_one_acknowledgement_per_referral():
    referral = uuid.uuid4()
    first, second = (
        PageAcknowledged(
            page_id=uuid.uuid4(),
            referral_id=referral,
            site_id="north",
            recipient=recipient,
            recipient_role="supporter",
            step=1,
            seconds_to_acknowledge=95,  # this page's wait; the referral waited longer
            referral_seconds_to_acknowledge=since_first_page,
        )
        for recipient, since_first_page in (("st-ab", 400), ("st-cd", None))
    )
    # a group case's second supporter: counted as a deployment, not as the case's wait
    assert observations(first) == [Observation("seconds_to_acknowledge", 400)]
    assert observations(second) == []
    assert Increment("acknowledged_pages", "supporter") in increments(second)
    assert not [i for i in increments(second) if i.measure == "deployments"]
    callback = ReferralContacted(referral_id=uuid.uuid4(), site_id="north", minutes_to_callback=12)
    assert observations(callback) == [Observation("minutes_to_callback", 12)]


@given(st.lists(st.integers(0, 500), min_size=1, max_size=300), st.sampled_from([0.5, 0.9]))
def test_the_quantile_of_counts_is_the_nearest_rank_of_the_raw_values(values: list[int], q: float):
    counts = dict(Counter(values))
    ordered = sorted(values)
    assert quantile(counts, q) == ordered[math.ceil(round(q * len(values), 9)) - 1]


def test_an_empty_distribution_has_no_quantile():
    assert quantile({}, 0.5) is None


@given(st.lists(st.integers(1, 12), max_size=30))
def test_supporters_by_deployments_follow_from_each_acknowledgements_rank_alone(per_supporter: list[int]):
    """No supporter ref is kept: the n-th acknowledgement of the month moves one supporter
    up a bucket, and the buckets come out as if each supporter had been counted."""
    tally = Tally()
    at = datetime(2026, 5, 20, tzinfo=UTC)
    for i, deployments in enumerate(per_supporter):
        for n in range(1, deployments + 1):
            ack = PageAcknowledged(
                page_id=uuid.uuid4(),
                referral_id=uuid.uuid4(),
                site_id="north",
                recipient=f"st-s{i}",
                recipient_role="supporter",
                step=0,
                seconds_to_acknowledge=30,
                deployment_of_month=n,
            )
            tally.add(ack, "north", at)
    buckets = {d: n for (_s, _p, m, d), n in tally.counts.items() if m == "supporters_by_deployments" and n}
    expected = Counter(
        "1" if d == 1 else "2" if d == 2 else "3_4" if d <= 4 else "5_plus" for d in per_supporter
    )
    assert buckets == dict(expected)


def test_an_encounters_length_adds_to_volunteer_minutes_and_is_counted_as_timed():
    met = ReferralMet(
        referral_id=uuid.uuid4(),
        site_id="north",
        encounter=2,
        minutes_since_referral=900,
        duration_minutes=50,
    )
    assert increments(met) == [
        Increment("encounters", "follow_up"),
        Increment("timed_encounters", TOTAL),
        Increment("volunteer_minutes", TOTAL, 50),
    ]
    untimed = met.model_copy(update={"duration_minutes": None})
    assert increments(untimed) == [Increment("encounters", "follow_up")]


def test_the_profession_group_is_counted_on_a_first_decision_only():
    first = MatchUnmatched(
        referral_id=uuid.uuid4(), site_id="north", urgency="within_hours", worker_profession_group="medicine"
    )
    assert increments(first) == [
        Increment("unmatched", TOTAL),
        Increment("referrals_by_profession", "medicine"),
    ]
    later = MatchProposed(
        referral_id=uuid.uuid4(),
        site_id="north",
        urgency="within_hours",
        candidates=[Candidate(supporter="st-s1", rank=1, score=1.0)],
    )
    assert increments(later) == []


async def test_every_event_adds_its_counts_with_the_same_two_statements():
    """A statement built anew for every event had its cache key derived anew from the whole
    statement: a sixth of what metrics did under load. Each event's counts and values go
    through the same two statements, built once, on the driver, with the rows as parameters."""
    from metrics.handlers import store
    from sqlalchemy.ext.asyncio import create_async_engine

    class Recording:  # the unit of work and its driver, as far as store uses them
        engine = create_async_engine("postgresql+asyncpg://nobody@nowhere/none")  # never connects

        def __init__(self) -> None:
            self.executed: list[tuple[str, list]] = []

        async def driver(self):  # type: ignore[no-untyped-def]
            return self

        async def executemany(self, text, rows):  # type: ignore[no-untyped-def]
            self.executed.append((text, rows))

    uow = Recording()
    at = datetime(2026, 3, 31, tzinfo=UTC)
    for minutes in (12, 40):
        tally = Tally()
        tally.add(
            ReferralContacted(referral_id=uuid.uuid4(), site_id="north", minutes_to_callback=minutes),
            "north",
            at,
        )
        await store(uow, tally)  # type: ignore[arg-type]

    statements = [text for text, _ in uow.executed]
    assert len(statements) == 4 and len(set(statements)) == 2
    # the distribution's row: site, period, measure, value, count
    assert [rows[0][3] for _, rows in uow.executed[1::2]] == [12, 40]
