"""Calendar feeds (RFC 5545), read back by an independent parser (the `icalendar` package):
shifts land on the right hours across both daylight-saving changes in Toronto and Vancouver,
the VTIMEZONE alone is enough to place them, UIDs hold from one fetch to the next, and long
lines fold without breaking a character."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from contracts.types import DutyLayer
from oncall.calendars import feeds, ical
from oncall.schedule import Override, Rotation, Schedule

AUTUMN = datetime(2026, 11, 1)  # Canada falls back at 02:00
SPRING = datetime(2027, 3, 14)  # and springs forward at 02:00


def daily(zone: str, members: tuple[str, ...] = ("st-a", "st-b"), starts: datetime | None = None) -> Schedule:
    return Schedule(zone, (Rotation(DutyLayer.PRIMARY, members, starts or datetime(2026, 10, 1, 8), 24),))


def parse(text: str) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(text)


def events(calendar: icalendar.Calendar) -> list[tuple[datetime, datetime, str, str]]:
    return sorted(
        (
            e.decoded("DTSTART").astimezone(UTC),
            e.decoded("DTEND").astimezone(UTC),
            str(e.get("SUMMARY")),
            str(e.get("UID")),
        )
        for e in calendar.walk("VEVENT")
    )


def feed_at(now: datetime, schedule: Schedule, site: str = "north") -> str:
    span = feeds.span_at(now)
    return ical.calendar(
        "t", feeds.site_shifts(site, schedule, span), now=now, span=(span.computed_from, span.end)
    )


def shift_on(
    found: list[tuple[datetime, datetime, str, str]], day: datetime, zone: str
) -> tuple[datetime, datetime]:
    start = day.replace(hour=8).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    ((a, b),) = [(a, b) for a, b, summary, _ in found if a == start and "Nobody" not in summary]
    return a, b


def test_the_shift_of_the_autumn_change_lasts_25_hours_and_the_spring_one_23_in_toronto_and_vancouver():
    for zone in ("America/Toronto", "America/Vancouver"):
        found = events(parse(feed_at(datetime(2026, 11, 15, tzinfo=UTC), daily(zone))))
        a, b = shift_on(found, AUTUMN - timedelta(days=1), zone)  # 08:00 the day before to 08:00
        assert b - a == timedelta(hours=25)
        assert b.astimezone(ZoneInfo(zone)).hour == 8  # the next one still starts at 08:00
        found = events(parse(feed_at(datetime(2027, 3, 1, tzinfo=UTC), daily(zone))))
        a, b = shift_on(found, SPRING - timedelta(days=1), zone)
        assert b - a == timedelta(hours=23)
        assert b.astimezone(ZoneInfo(zone)).hour == 8


def test_the_vtimezone_alone_places_every_shift_as_the_zone_database_does():
    """Renamed, the zone is unknown to the parser: it has only the feed's VTIMEZONE."""
    for zone in ("America/Toronto", "America/Vancouver"):
        text = feed_at(datetime(2026, 12, 1, tzinfo=UTC), daily(zone))
        by_name = events(parse(text))
        # a name of its own per zone: the parser keeps a zone it has read under its name
        by_vtimezone = events(parse(text.replace(zone, f"Unknown/{zone.split('/')[1]}-Site")))
        assert by_vtimezone == by_name
        (component,) = parse(text).walk("VTIMEZONE")
        changes = [(str(c.name), c.decoded("DTSTART")) for c in component.subcomponents]
        assert ("STANDARD", datetime(2026, 11, 1, 2, 0)) in changes
        assert ("DAYLIGHT", datetime(2027, 3, 14, 2, 0)) in changes


def test_a_time_the_autumn_change_makes_happen_twice_is_written_in_utc_when_it_is_the_second():
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, after 01:30 EDT
    schedule = Schedule(
        "America/Toronto",
        daily("America/Toronto").rotations,
        (Override(DutyLayer.PRIMARY, "st-c", second, second + timedelta(hours=2), 1),),
    )
    text = feed_at(datetime(2026, 11, 2, tzinfo=UTC), schedule)
    assert "DTSTART:20261101T063000Z" in text
    found = events(parse(text))
    assert any(a == second and "st-c" in summary for a, _, summary, _ in found)


def test_a_shift_keeps_its_uid_from_one_fetch_to_the_next_even_one_that_began_before_the_span():
    for schedule in (daily("America/Toronto"), daily("America/Toronto", members=("st-alone",))):
        first = {
            (a, b, uid)
            for a, b, _, uid in events(parse(feed_at(datetime(2026, 12, 1, tzinfo=UTC), schedule)))
        }
        later = {
            (a, b, uid)
            for a, b, _, uid in events(parse(feed_at(datetime(2026, 12, 3, 15, tzinfo=UTC), schedule)))
        }
        common = {(a, b) for a, b, _ in first} & {(a, b) for a, b, _ in later}
        assert len(common) > 100
        assert {x for x in first if x[:2] in common} == {x for x in later if x[:2] in common}
        assert len({uid for *_, uid in first}) == len(first)  # one UID a shift


def test_a_site_feed_shows_the_nights_nobody_covers_and_a_supporter_feed_only_their_own_shifts():
    nights = Schedule(
        "America/Vancouver",
        (Rotation(DutyLayer.PRIMARY, ("st-a", "st-b"), datetime(2026, 10, 1, 8), 24),),
    )
    text = feed_at(datetime(2026, 12, 1, tzinfo=UTC), nights, site="west")
    assert any("Nobody on call as backup" in summary for *_, summary, _ in events(parse(text)))
    span = feeds.span_at(datetime(2026, 12, 1, tzinfo=UTC))
    mine = feeds.own_shifts(
        "st-a", {"west": nights, "north": daily("America/Toronto", ("st-a", "st-z"))}, span
    )
    text = ical.calendar(
        "mine", mine, now=datetime(2026, 12, 1, tzinfo=UTC), span=(span.computed_from, span.end)
    )
    calendar = parse(text)
    assert {str(z.get("TZID")) for z in calendar.walk("VTIMEZONE")} == {
        "America/Toronto",
        "America/Vancouver",
    }
    summaries = {summary for *_, summary, _ in events(calendar)}
    assert summaries == {"On call (primary), site west", "On call (primary), site north"}
    french = feeds.own_shifts("st-a", {"west": nights}, span, "fr")
    assert french[0].summary == "De garde (principal), site west"


def test_long_lines_fold_at_75_octets_without_splitting_a_character_and_text_is_escaped():
    summary = "Personne de garde (relève), « équipe de soins intensifs », nuit; appel, rappel " * 3
    shift = ical.Shift(
        "k", datetime(2026, 12, 1, 13, tzinfo=UTC), datetime(2026, 12, 2, 13, tzinfo=UTC), "UTC", summary
    )
    text = ical.calendar(
        "t", [shift], now=datetime(2026, 12, 1, tzinfo=UTC), span=(shift.starts_at, shift.ends_at)
    )
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    (event,) = parse(text).walk("VEVENT")
    assert str(event.get("SUMMARY")) == summary
