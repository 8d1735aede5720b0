"""iCalendar (RFC 5545) feeds of on-call shifts: pure, no I/O.

A shift is written in its site's zone (``DTSTART;TZID=America/Toronto:20261101T080000``)
with a VTIMEZONE that spells out that zone's offsets and changes over the feed's span, so a
calendar without the IANA database still puts the 25-hour shift of 1 November at the right
hours. Each change is its own component with the instant it happens (no RRULE): what the
zone database says, not a rule that may have changed since. A time the autumn change makes
happen twice is written in UTC when it is the second one, since a local time names the first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

PRODUCT = "-//Peer support platform//On-call calendar//EN"
LINE_OCTETS = 75  # RFC 5545 3.1: lines longer than this are folded
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Shift:
    """One event: who holds (or nobody holds) a layer of a site's schedule from ``starts_at``
    to ``ends_at`` (UTC), said in ``zone``."""

    key: str  # what makes the event itself across fetches (site, layer, holder, start)
    starts_at: datetime
    ends_at: datetime
    zone: str
    summary: str
    description: str = ""


def uid(key: str) -> str:
    """Stable across fetches: the same shift keeps its UID, a changed one gets a new one."""
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@peer-support"


def escape(text: str) -> str:
    """TEXT values (3.3.11): backslash, semicolon, comma and line breaks are escaped."""
    for plain, escaped in (("\\", "\\\\"), (";", "\\;"), (",", "\\,"), ("\r\n", "\\n"), ("\n", "\\n")):
        text = text.replace(plain, escaped)
    return text


def fold(line: str) -> str:
    """Lines over 75 octets continue on the next line after a space, never inside a
    character's UTF-8 bytes."""
    out: list[str] = []
    current, size, limit = "", 0, LINE_OCTETS
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            out.append(current)
            current, size, limit = "", 0, LINE_OCTETS - 1  # the leading space counts
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def _offset(delta: timedelta | None) -> str:
    seconds = int((delta or timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants in [start, end) at which the zone's offset changes: a day's step finds
    the day, halving finds the second."""
    found = []
    day = start
    while day < end:
        following = min(day + timedelta(days=1), end)
        if day.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            low, high = day, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
        day = following
    return found


def vtimezone(name: str, start: datetime, end: datetime) -> list[str]:
    """The zone's changes over [start, end), from the last one before ``start`` (so every
    moment of the span follows a component); a zone that never changes has one component."""
    zone = ZoneInfo(name)
    year = timedelta(days=366)
    changes = transitions(zone, start - year, end)
    earlier = [c for c in changes if c <= start]
    changes = [earlier[-1], *[c for c in changes if c > start]] if earlier else changes
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]

    def component(at_local: datetime, before: timedelta | None, after: datetime) -> None:
        kind = "DAYLIGHT" if after.dst() else "STANDARD"
        lines.extend(
            [
                f"BEGIN:{kind}",
                f"DTSTART:{_stamp(at_local)}",
                f"TZOFFSETFROM:{_offset(before)}",
                f"TZOFFSETTO:{_offset(after.utcoffset())}",
                f"TZNAME:{after.tzname()}",
                f"END:{kind}",
            ]
        )

    if not changes:
        now = start.astimezone(zone)
        component(_EPOCH, now.utcoffset(), now)
    for change in changes:
        before = (change - timedelta(seconds=1)).astimezone(zone).utcoffset()
        # DTSTART is the local time of the change as the clock read before it (02:00, not 01:00)
        component((change + (before or timedelta())).replace(tzinfo=None), before, change.astimezone(zone))
    lines.append("END:VTIMEZONE")
    return lines


def _moment(prop: str, moment: datetime, zone: ZoneInfo, name: str) -> str:
    local = moment.astimezone(zone)
    naive = local.replace(tzinfo=None, fold=0)
    # a local time names its first occurrence (RFC 5545 3.3.5): the second is said in UTC
    if naive.replace(tzinfo=zone, fold=0).astimezone(UTC) != moment.astimezone(UTC):
        return f"{prop}:{_stamp(moment.astimezone(UTC))}Z"
    return f"{prop};TZID={name}:{_stamp(naive)}"


def calendar(
    name: str,
    shifts: Iterable[Shift],
    *,
    now: datetime,
    span: tuple[datetime, datetime],
    refresh: timedelta = timedelta(hours=1),
) -> str:
    """The whole feed, CRLF-ended lines, folded."""
    chosen = sorted(shifts, key=lambda s: (s.starts_at, s.key))
    zones = sorted({s.zone for s in chosen})
    minutes = int(refresh.total_seconds() // 60)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"NAME:{escape(name)}",
        f"X-WR-CALNAME:{escape(name)}",
        f"REFRESH-INTERVAL;VALUE=DURATION:PT{minutes}M",
        f"X-PUBLISHED-TTL:PT{minutes}M",
    ]
    if len(zones) == 1:
        lines.append(f"X-WR-TIMEZONE:{zones[0]}")
    begin, end = span
    for zone_name in zones:
        lines.extend(vtimezone(zone_name, begin, end))
    stamp = f"{_stamp(now.astimezone(UTC))}Z"
    for s in chosen:
        zone = ZoneInfo(s.zone)
        lines.extend(
            [
                "BEGIN:VEVENT",
                f"UID:{uid(s.key)}",
                f"DTSTAMP:{stamp}",
                _moment("DTSTART", s.starts_at, zone, s.zone),
                _moment("DTEND", s.ends_at, zone, s.zone),
                f"SUMMARY:{escape(s.summary)}",
                *([f"DESCRIPTION:{escape(s.description)}"] if s.description else []),
                "TRANSP:OPAQUE",
                "END:VEVENT",
            ]
        )
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
