"""The schedule's rules: rotations in the site's time zone across both daylight-saving
changes, restrictions, overrides of overrides, swaps and gaps."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from contracts.types import DutyLayer
from hypothesis import given
from hypothesis import strategies as st
from oncall.schedule import (
    Override,
    Restriction,
    Rotation,
    Schedule,
    Source,
    gaps,
    on_duty,
    swap,
    timeline,
)

TORONTO = "America/Toronto"
PRIMARY = DutyLayer.PRIMARY


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # type: ignore[misc]


def assert_contiguous(segments, start, end) -> None:  # type: ignore[no-untyped-def]
    """No gap and no overlap between segments, and the whole range covered."""
    assert segments[0].starts_at == start and segments[-1].ends_at == end
    for before, after in itertools.pairwise(segments):
        assert before.ends_at == after.starts_at
        assert before.starts_at < before.ends_at


@pytest.mark.parametrize(
    ("first_day", "change_day", "hours_across_change"),
    [((2026, 3, 1), 7, 23), ((2026, 10, 25), 31, 25)],  # spring forward 8 Mar, fall back 1 Nov
    ids=["spring-forward", "fall-back"],
)
def test_a_daily_rotation_hands_over_at_8_local_across_a_daylight_saving_change(
    first_day: tuple[int, int, int], change_day: int, hours_across_change: int
) -> None:
    rotation = Rotation(PRIMARY, ("st-a", "st-b", "st-c"), datetime(*first_day, 8, 0), 24)
    schedule = Schedule(TORONTO, (rotation,))
    start = local(TORONTO, *first_day, 8, 0)
    end = (datetime(*first_day, 8, 0) + timedelta(days=14)).replace(tzinfo=ZoneInfo(TORONTO)).astimezone(UTC)
    segments = timeline(schedule, PRIMARY, start, end)
    assert_contiguous(segments, start, end)
    assert len(segments) == 14
    for i, segment in enumerate(segments):
        starts_local = segment.starts_at.astimezone(ZoneInfo(TORONTO))
        assert (starts_local.hour, starts_local.minute) == (8, 0)
        assert segment.staff_ref == ("st-a", "st-b", "st-c")[i % 3]
    lengths = {s.starts_at.astimezone(ZoneInfo(TORONTO)).day: s.ends_at - s.starts_at for s in segments}
    assert lengths[change_day] == timedelta(hours=hours_across_change)
    assert all(v == timedelta(hours=24) for k, v in lengths.items() if k != change_day)


def test_twelve_hour_shifts_that_hand_over_in_the_skipped_hour_neither_gap_nor_overlap() -> None:
    # 02:30 does not exist in Toronto on 8 March 2026
    rotation = Rotation(PRIMARY, ("st-day", "st-night"), datetime(2026, 3, 6, 2, 30), 12)
    schedule = Schedule(TORONTO, (rotation,))
    start, end = local(TORONTO, 2026, 3, 6, 12, 0), local(TORONTO, 2026, 3, 10, 12, 0)
    segments = timeline(schedule, PRIMARY, start, end)
    assert_contiguous(segments, start, end)
    assert [s.staff_ref for s in segments] == ["st-day", "st-night"] * 4 + ["st-day"]
    assert sum((s.ends_at - s.starts_at for s in segments), timedelta()) == end - start == timedelta(hours=95)


def test_a_weekly_rotation_covers_both_changes_of_the_year_without_gap_or_overlap() -> None:
    rotation = Rotation(PRIMARY, ("st-a", "st-b"), datetime(2026, 1, 5, 9, 0), 168)
    schedule = Schedule("America/Halifax", (rotation,))
    start, end = local("America/Halifax", 2026, 1, 5, 9, 0), local("America/Halifax", 2027, 1, 4, 9, 0)
    segments = timeline(schedule, PRIMARY, start, end)
    assert_contiguous(segments, start, end)
    assert len(segments) == 52
    for segment in segments:
        local_start = segment.starts_at.astimezone(ZoneInfo("America/Halifax"))
        assert (local_start.weekday(), local_start.hour) == (0, 9)


def test_nights_only_leaves_the_days_as_gaps_at_local_times_across_the_change() -> None:
    nights = Rotation(
        PRIMARY, ("st-owl",), datetime(2026, 3, 1, 20, 0), 24, Restriction(time(20, 0), time(8, 0))
    )
    schedule = Schedule(TORONTO, (nights,))
    start, end = local(TORONTO, 2026, 3, 7, 8, 0), local(TORONTO, 2026, 3, 9, 8, 0)
    segments = timeline(schedule, PRIMARY, start, end)
    assert_contiguous(segments, start, end)
    assert [(s.staff_ref, s.source) for s in segments] == [
        (None, Source.GAP),
        ("st-owl", Source.ROTATION),
        (None, Source.GAP),
        ("st-owl", Source.ROTATION),
    ]
    # the night of the change is 11 hours long, the day gaps 12
    assert [s.ends_at - s.starts_at for s in segments] == [timedelta(hours=h) for h in (12, 11, 12, 12)]
    assert [g.starts_at for g in gaps(schedule, start, end, [PRIMARY])] == [
        segments[0].starts_at,
        segments[2].starts_at,
    ]


def test_a_later_override_wins_over_an_earlier_one_which_wins_over_the_rotation() -> None:
    rotation = Rotation(PRIMARY, ("st-a",), datetime(2026, 6, 1, 0, 0), 24)
    first = Override(PRIMARY, "st-b", local(TORONTO, 2026, 6, 2, 10), local(TORONTO, 2026, 6, 2, 18), 1)
    second = Override(PRIMARY, "st-c", local(TORONTO, 2026, 6, 2, 12), local(TORONTO, 2026, 6, 2, 14), 2)
    start, end = local(TORONTO, 2026, 6, 2, 0), local(TORONTO, 2026, 6, 3, 0)
    for overrides in ((first, second), (second, first)):  # the order they are stored in does not matter
        segments = timeline(Schedule(TORONTO, (rotation,), overrides), PRIMARY, start, end)
        assert_contiguous(segments, start, end)
        assert [(s.staff_ref, s.starts_at.astimezone(ZoneInfo(TORONTO)).hour) for s in segments] == [
            ("st-a", 0),
            ("st-b", 10),
            ("st-c", 12),
            ("st-b", 14),
            ("st-a", 18),
        ]


def test_an_override_fills_a_gap_and_the_first_rotation_that_covers_wins() -> None:
    days = Rotation(PRIMARY, ("st-day",), datetime(2026, 6, 1, 8), 24, Restriction(time(8), time(20)))
    fallback = Rotation(PRIMARY, ("st-any",), datetime(2026, 6, 1, 0), 24)
    at_noon, at_night = local(TORONTO, 2026, 6, 3, 12), local(TORONTO, 2026, 6, 3, 23)
    both = Schedule(TORONTO, (days, fallback))
    assert on_duty(both, PRIMARY, at_noon) == ("st-day", Source.ROTATION)
    assert on_duty(both, PRIMARY, at_night) == ("st-any", Source.ROTATION)
    alone = Schedule(TORONTO, (days,))
    assert on_duty(alone, PRIMARY, at_night) == (None, Source.GAP)
    filled = Schedule(
        TORONTO, (days,), (Override(PRIMARY, "st-x", at_night, at_night + timedelta(hours=1), 1),)
    )
    assert on_duty(filled, PRIMARY, at_night) == ("st-x", Source.OVERRIDE)
    assert on_duty(alone, DutyLayer.BACKUP, at_noon) == (None, Source.GAP)


def test_a_member_who_cannot_serve_is_a_gap_and_the_others_are_not() -> None:
    rotation = Rotation(PRIMARY, ("st-a", "st-b"), datetime(2026, 6, 1, 8), 24)
    schedule = Schedule(TORONTO, (rotation,))
    start, end = local(TORONTO, 2026, 6, 1, 8), local(TORONTO, 2026, 6, 5, 8)
    assert gaps(schedule, start, end, [PRIMARY]) == []
    found = gaps(schedule, start, end, [PRIMARY], cannot_serve={"st-b"})
    assert [g.staff_ref for g in found] == ["st-b", "st-b"]
    assert [g.starts_at for g in found] == [local(TORONTO, 2026, 6, 2, 8), local(TORONTO, 2026, 6, 4, 8)]


def test_a_swap_trades_two_shifts_and_nothing_else() -> None:
    rotation = Rotation(PRIMARY, ("st-a", "st-b"), datetime(2026, 6, 1, 8), 24)
    schedule = Schedule(TORONTO, (rotation,))
    monday, tuesday = local(TORONTO, 2026, 6, 1, 12), local(TORONTO, 2026, 6, 2, 12)
    a_takes_b, b_takes_a = swap(schedule, PRIMARY, monday, tuesday, precedence=1)
    swapped = Schedule(TORONTO, (rotation,), (a_takes_b, b_takes_a))
    assert on_duty(swapped, PRIMARY, monday)[0] == "st-b"
    assert on_duty(swapped, PRIMARY, tuesday)[0] == "st-a"
    assert on_duty(swapped, PRIMARY, tuesday + timedelta(days=1))[0] == "st-a"  # unchanged after
    with pytest.raises(ValueError, match="same supporter"):
        swap(schedule, PRIMARY, monday, monday + timedelta(days=2), precedence=2)


def test_a_rotation_says_nobody_before_it_begins_and_refuses_nonsense() -> None:
    rotation = Rotation(PRIMARY, ("st-a",), datetime(2026, 6, 1, 8), 24)
    assert on_duty(Schedule(TORONTO, (rotation,)), PRIMARY, local(TORONTO, 2026, 6, 1, 7))[0] is None
    with pytest.raises(ValueError):
        Rotation(PRIMARY, (), datetime(2026, 6, 1), 24)
    with pytest.raises(ValueError):
        Rotation(PRIMARY, ("st-a",), datetime(2026, 6, 1, tzinfo=UTC), 24)


zones = st.sampled_from(["America/Toronto", "America/St_Johns", "America/Vancouver", "America/Regina"])


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    zone = draw(zones)
    rotations = tuple(
        Rotation(
            PRIMARY,
            tuple(draw(st.lists(st.sampled_from(["st-a", "st-b", "st-c"]), min_size=1, max_size=3))),
            datetime(2026, 1, 1) + timedelta(minutes=30 * draw(st.integers(0, 48 * 300))),
            draw(st.sampled_from([6, 8, 12, 24, 36, 168])),
            draw(
                st.none()
                | st.builds(
                    Restriction,
                    st.sampled_from([time(h) for h in range(24)]),
                    st.sampled_from([time(h) for h in range(24)]),
                )
            ),
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    base = datetime(2026, 1, 1, tzinfo=UTC)
    overrides = []
    for i in range(draw(st.integers(0, 4))):
        starts = base + timedelta(hours=draw(st.integers(0, 24 * 360)))
        overrides.append(
            Override(PRIMARY, f"st-o{i}", starts, starts + timedelta(hours=draw(st.integers(1, 72))), i)
        )
    return Schedule(zone, rotations, tuple(overrides))


@given(schedules(), st.integers(0, 24 * 355), st.integers(1, 24 * 10), st.data())
def test_a_timeline_covers_every_instant_exactly_once_and_agrees_with_who_is_on_duty(
    schedule: Schedule, offset_hours: int, span_hours: int, data: st.DataObject
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=offset_hours)
    end = start + timedelta(hours=span_hours)
    segments = timeline(schedule, PRIMARY, start, end)
    assert_contiguous(segments, start, end)
    for _ in range(5):
        at = start + timedelta(minutes=data.draw(st.integers(0, span_hours * 60 - 1)))
        holding = next(s for s in segments if s.starts_at <= at < s.ends_at)
        assert (holding.staff_ref, holding.source) == on_duty(schedule, PRIMARY, at)
