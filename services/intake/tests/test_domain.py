"""The case's rules, without a database: lifecycle, tiers, reasons, group size."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from contracts.types import ConnectionPath, Modality, ReasonCategory, ReasonKind, SupportTier, Urgency
from intake.domain import (
    ENDED,
    CaseStatus,
    LifecycleError,
    Referral,
    ReferralRejected,
    check_transition,
    minutes_between,
    token_digest,
    withdrawal_stage,
)


def referral(**overrides: object) -> Referral:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "site_id": "north-general",
        "path": ConnectionPath.SELF,
        "reason_category": ReasonCategory.CRITICAL_INCIDENT,
        "reason_kind": ReasonKind.UNEXPECTED_PATIENT_DEATH,
        "urgency": Urgency.WITHIN_HOURS,
        "modality": Modality.PHONE,
        "submitted_at": datetime.now(UTC),
    }
    values.update(overrides)
    return Referral(**values)  # type: ignore[arg-type]


def test_the_lifecycle_runs_submitted_matched_contacted_met_closed():
    path = [CaseStatus.SUBMITTED, CaseStatus.MATCHED, CaseStatus.CONTACTED, CaseStatus.MET, CaseStatus.MET]
    for current, following in zip(path, [*path[1:], CaseStatus.CLOSED], strict=True):
        check_transition(current, following)


@pytest.mark.parametrize("status", [s for s in CaseStatus if s not in ENDED and s is not CaseStatus.OFFERED])
def test_a_worker_may_withdraw_at_any_point_of_an_open_case(status):
    assert withdrawal_stage(status).value == status.value


@pytest.mark.parametrize("ended", sorted(ENDED))
def test_an_ended_case_takes_no_further_step(ended):
    for to in CaseStatus:
        with pytest.raises(LifecycleError, match="already"):
            check_transition(ended, to)


def test_steps_cannot_be_skipped_backwards_or_out_of_order():
    with pytest.raises(LifecycleError, match="cannot become met"):
        check_transition(CaseStatus.SUBMITTED, CaseStatus.MET)  # met before anyone called back
    with pytest.raises(LifecycleError, match="cannot become submitted"):
        check_transition(CaseStatus.CONTACTED, CaseStatus.SUBMITTED)
    with pytest.raises(LifecycleError):
        check_transition(CaseStatus.OFFERED, CaseStatus.MATCHED)  # nobody is matched before accepting


def test_imminent_risk_goes_to_tier_three_with_the_crisis_flag():
    event = referral(imminent_risk=True).submitted_event()
    assert event.tier is SupportTier.PROFESSIONAL and event.crisis
    assert referral().submitted_event().tier is SupportTier.PEER_SUPPORT


def test_a_reason_kind_must_belong_to_its_category():
    with pytest.raises(ReferralRejected, match="not a kind of 'patient_safety_incident'"):
        referral(reason_category=ReasonCategory.PATIENT_SAFETY, reason_kind=ReasonKind.COLLEAGUE_SUICIDE)


def test_a_group_activation_is_for_two_people_or_more():
    with pytest.raises(ReferralRejected, match="two people"):
        referral(path=ConnectionPath.GROUP, group_size=1)
    assert referral(path=ConnectionPath.GROUP, group_size=12).submitted_event().group_size == 12


def test_the_worker_cannot_exclude_themself():
    with pytest.raises(ReferralRejected):
        referral(worker="st-abc1", excluded_supporters=["st-abc1"])


def test_preferences_travel_on_the_event_as_categories():
    event = referral(
        prefers_other_site=True, languages=["fr"], prefers_same_profession=False
    ).submitted_event()
    assert event.prefers_other_site and event.languages == ["fr"] and event.prefers_same_profession is False


def test_minutes_are_whole_and_never_negative():
    start = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    assert minutes_between(start, start + timedelta(minutes=29, seconds=59)) == 29
    assert minutes_between(start, start - timedelta(minutes=5)) == 0


def test_only_a_digest_of_the_worker_token_is_kept():
    assert token_digest("secret-token") != "secret-token" and len(token_digest("secret-token")) == 64
