"""Eligibility as a pure rule."""

from datetime import date

from training.eligibility import expiry, verdict

TODAY = date(2026, 6, 1)
REQUIRED = ["basic-peer-support", "crisis-management"]


def test_eligible_when_active_and_every_required_course_is_current():
    current = {"basic-peer-support": date(2027, 1, 1), "crisis-management": None}
    assert verdict(active=True, required=REQUIRED, current=current, today=TODAY).eligible


def test_a_certification_lapses_on_its_expiry_date():
    current = {"basic-peer-support": date(2027, 1, 1), "crisis-management": TODAY}
    result = verdict(active=True, required=REQUIRED, current=current, today=TODAY)
    assert not result.eligible and result.missing == ("crisis-management",)


def test_a_missing_mandatory_course_makes_a_supporter_ineligible():
    result = verdict(active=True, required=REQUIRED, current={"basic-peer-support": None}, today=TODAY)
    assert result.missing == ("crisis-management",)


def test_an_inactive_supporter_is_never_eligible():
    current = {"basic-peer-support": None, "crisis-management": None}
    assert not verdict(active=False, required=REQUIRED, current=current, today=TODAY).eligible


def test_re_training_every_two_years():
    assert expiry(date(2026, 1, 1), 730) == date(2028, 1, 1)
    assert expiry(date(2026, 1, 1), None) is None


def test_a_certification_lapses_at_its_exact_moment():
    from datetime import UTC, datetime, timedelta

    moment = datetime(2026, 6, 1, 14, 30, tzinfo=UTC)
    current = {"basic-peer-support": None, "crisis-management": moment}
    before = verdict(active=True, required=REQUIRED, current=current, today=moment - timedelta(seconds=1))
    at = verdict(active=True, required=REQUIRED, current=current, today=moment)
    assert before.eligible and not at.eligible


def test_reminders_go_at_each_offset_but_never_for_a_moment_already_past():
    from datetime import UTC, datetime, timedelta

    from training.eligibility import reminders_due

    expires = datetime(2026, 9, 1, tzinfo=UTC)
    now = expires - timedelta(days=45)
    assert reminders_due(expires, [60, 30, 7, 30], now) == [
        (30, expires - timedelta(days=30)),
        (7, expires - timedelta(days=7)),
    ]
