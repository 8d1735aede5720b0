"""Calendar feeds on the running platform: a coordinator and a supporter each get a secret
address, a calendar app reads it with no sign-in, an independent parser finds the schedule's
shifts in it at the hours the schedule API gives, and an address replaced or revoked reads
nothing, with the same answer as one that never existed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import icalendar
from pss_testkit.testing import RunningPlatform

from .helpers import ref


def oncall(p: RunningPlatform) -> str:
    return p.url("oncall")


def put_schedule(p: RunningPlatform, site, zone: str) -> None:
    today = datetime.now(ZoneInfo(zone)).date()
    schedule = {
        "time_zone": zone,
        "rotations": [
            {
                "layer": "primary",
                "members": [ref(site, "sup1"), ref(site, "sup2")],
                "starts_local": f"{today - timedelta(days=3)}T08:00:00",
                "every": "daily",
            }
        ],
    }
    with p.coordinator(site) as coordinator:
        answer = coordinator.put(f"{oncall(p)}/sites/{site.site_id}/schedule", json=schedule)
    assert answer.status_code == 204, answer.text


def shifts(url: str) -> list[tuple[datetime, datetime, str]]:
    answer = httpx.get(url, timeout=30)  # a calendar app: no sign-in
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(answer.text)
    return sorted(
        (e.decoded("DTSTART").astimezone(UTC), e.decoded("DTEND").astimezone(UTC), str(e.get("SUMMARY")))
        for e in calendar.walk("VEVENT")
    )


def test_a_coordinator_subscribes_to_the_sites_schedule_and_finds_the_shifts_the_schedule_api_gives(
    running_platform: RunningPlatform, site
):
    p = running_platform
    put_schedule(p, site, "America/Vancouver")
    with p.coordinator(site) as coordinator:
        created = coordinator.post(f"{oncall(p)}/sites/{site.site_id}/calendar-feed", json={"language": "en"})
        assert created.status_code == 201, created.text
        address = created.json()
        now = datetime.now(UTC)
        window = {"from": now.isoformat(), "to": (now + timedelta(days=3)).isoformat()}
        schedule = coordinator.get(f"{oncall(p)}/sites/{site.site_id}/schedule", params=window).json()
    assert address["webcal"].startswith("webcal://")
    found = shifts(address["url"])
    by_start = {a: (b, summary) for a, b, summary in found}
    for segment in schedule["layers"]["primary"]:
        start = datetime.fromisoformat(segment["starts_at"])
        end = datetime.fromisoformat(segment["ends_at"])
        if start <= now or end >= now + timedelta(days=3):
            continue  # the window cuts its first and last segments
        assert by_start[start][0] == end
        summary = by_start[start][1]
        assert summary == f"Primary on call: {segment['supporter']}"
    # the nights and days with no backup are in it too, for the coordinator to fill
    assert any(summary == "Nobody on call as backup" for *_, summary in found)
    # a new address replaces the old; revoked, the new one reads nothing either
    with p.coordinator(site) as coordinator:
        again = coordinator.post(f"{oncall(p)}/sites/{site.site_id}/calendar-feed").json()
        old = httpx.get(address["url"], timeout=30)
        unknown = httpx.get(f"{oncall(p)}/calendars/{'x' * 43}.ics", timeout=30)
        assert old.status_code == 404 and old.json() == unknown.json()
        assert shifts(again["url"])
        assert coordinator.delete(f"{oncall(p)}/sites/{site.site_id}/calendar-feed").status_code == 204
        assert httpx.get(again["url"], timeout=30).status_code == 404


def test_a_supporter_subscribes_to_their_own_shifts_only_and_another_sites_coordinator_gets_no_address(
    running_platform: RunningPlatform, site, other_site
):
    p = running_platform
    put_schedule(p, site, "America/Toronto")
    supporter = ref(site, "sup1")
    with p.supporter(supporter) as me:
        created = me.post(f"{oncall(p)}/me/calendar-feed", json={"language": "fr"})
        assert created.status_code == 201, created.text
    found = shifts(created.json()["url"])
    assert found and {summary for *_, summary in found} == {f"De garde (principal), site {site.site_id}"}
    # every other day: the rotation has two members
    starts = [a for a, _, _ in found]
    assert all(b - a >= timedelta(hours=47) for a, b in itertools.pairwise(starts))
    with p.coordinator(other_site) as stranger:
        refused = stranger.post(f"{oncall(p)}/sites/{site.site_id}/calendar-feed")
        nowhere = stranger.post(f"{oncall(p)}/sites/no-such-site/calendar-feed")
    assert refused.status_code == nowhere.status_code == 404, refused.text
    assert refused.json() == nowhere.json()  # nothing said of the other site


def test_a_sites_calendar_lapses_when_its_owner_stops_opening_the_schedule_as_its_coordinator(
    running_platform: RunningPlatform, site
):
    """oncall learns a coordinator's role only from sign-ins: an owner who lost the role stops
    confirming the address by opening the site's schedule, and it stops working within 30 days.
    An owner who keeps the role keeps it working."""
    p = running_platform
    put_schedule(p, site, "America/Halifax")
    with p.coordinator(site) as coordinator:
        address = coordinator.post(f"{oncall(p)}/sites/{site.site_id}/calendar-feed").json()
    assert shifts(address["url"])

    def confirmed_days_ago(days: int) -> None:
        p.sql(
            "UPDATE oncall.calendar_feed SET confirmed_at = now() - make_interval(days => %s)"
            " WHERE site_id = %s AND revoked_at IS NULL RETURNING 1",
            days,
            site.site_id,
        )

    # still the coordinator after 29 days: opening the schedule renews the address
    confirmed_days_ago(29)
    with p.coordinator(site) as coordinator:
        assert coordinator.get(f"{oncall(p)}/sites/{site.site_id}/schedule").status_code == 200
    [(renewed,)] = p.sql(
        "SELECT confirmed_at > now() - interval '1 minute' FROM oncall.calendar_feed"
        " WHERE site_id = %s AND revoked_at IS NULL",
        site.site_id,
    )
    assert renewed
    assert shifts(address["url"])

    # 31 days without opening it (the role gone): the address reads nothing, as an unknown one
    confirmed_days_ago(31)
    lapsed = httpx.get(address["url"], timeout=30)
    unknown = httpx.get(f"{oncall(p)}/calendars/{'y' * 43}.ics", timeout=30)
    assert lapsed.status_code == 404 and lapsed.json() == unknown.json()
    # and opening the schedule afterwards does not bring it back: a new address is made
    with p.coordinator(site) as coordinator:
        assert coordinator.get(f"{oncall(p)}/sites/{site.site_id}/schedule").status_code == 200
        assert httpx.get(address["url"], timeout=30).status_code == 404
        again = coordinator.post(f"{oncall(p)}/sites/{site.site_id}/calendar-feed").json()
    assert shifts(again["url"])
