"""Times as people read them, across both daylight-saving changes and at the calendar's ends."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.time_text import time_text, zone_of

TORONTO, VANCOUVER = zone_of("America/Toronto"), zone_of("America/Vancouver")


def test_a_moment_reads_in_the_site_s_zone_with_its_abbreviation_in_english_and_french():
    moment = datetime(2026, 11, 30, 11, 33, tzinfo=UTC)
    assert time_text(moment, TORONTO) == "30 Nov 2026, 06:33 EST"
    assert time_text(moment, TORONTO, "fr") == "30 nov. 2026, 06 h 33 HNE"
    assert time_text(moment, VANCOUVER) == "30 Nov 2026, 03:33 PST"
    assert time_text(moment, VANCOUVER, "fr", date=False) == "03 h 33 HNP"


def test_daylight_saving_changes_the_abbreviation_with_the_offset():
    before = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, the first of the two
    after = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, the second
    assert time_text(before, TORONTO) == "1 Nov 2026, 01:30 EDT"
    assert time_text(after, TORONTO) == "1 Nov 2026, 01:30 EST"
    assert time_text(datetime(2027, 3, 14, 10, 0, tzinfo=UTC), VANCOUVER, "fr") == "14 mars 2027, 03 h 00 HAP"


def test_a_naive_moment_is_utc_and_an_unknown_zone_falls_back():
    assert time_text(datetime(2026, 11, 30, 11, 33), zone_of("Not/AZone")) == "30 Nov 2026, 11:33 UTC"
    assert zone_of(None, "America/Toronto") == TORONTO


def test_the_first_and_last_years_of_the_calendar_still_read():
    assert time_text(datetime(9999, 12, 31, 23, 59, tzinfo=UTC), zone_of("UTC")) == "31 Dec 9999, 23:59 UTC"
    assert time_text(datetime(1, 1, 1, 0, 0, tzinfo=UTC), zone_of("UTC"), "fr") == "1 janv. 1, 00 h 00 UTC"
    # where the zone would carry the moment past the calendar's end, it is said in UTC
    assert time_text(datetime(9999, 12, 31, 23, 59, tzinfo=UTC), zone_of("Asia/Tokyo")).endswith("23:59 UTC")
    assert time_text(datetime(1, 1, 1, 0, 0, tzinfo=UTC), TORONTO) == "1 Jan 1, 00:00 UTC"
