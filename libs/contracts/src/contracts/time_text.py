"""A moment as a person reads it: in a zone, with the zone's abbreviation, in their language.

``30 Nov 2026, 06:33 EST`` in English, ``30 nov. 2026, 06 h 33 HNE`` in French. Pure: the
front-end's pages and oncall's messages both say times this way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "fr": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
}
# tzdata's abbreviations are English; Canadian French says them in its own words
_FRENCH_ABBREVIATIONS = {
    "NST": "HNT", "NDT": "HAT", "AST": "HNA", "ADT": "HAA", "EST": "HNE", "EDT": "HAE",
    "CST": "HNC", "CDT": "HAC", "MST": "HNR", "MDT": "HAR", "PST": "HNP", "PDT": "HAP",
    "UTC": "UTC",
}  # fmt: skip


def zone_of(name: str | None, default: str = "UTC") -> ZoneInfo:
    """The zone called ``name``, or ``default`` when there is none or it is not a zone."""
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def time_text(moment: datetime, zone: ZoneInfo, language: str = "en", *, date: bool = True) -> str:
    """``moment`` in ``zone`` for a reader of ``language`` (en or fr); a naive moment is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        local = moment.astimezone(zone)
    except OverflowError:  # year 1 west of Greenwich, 9999 east of it: said in UTC
        local = moment.astimezone(UTC)
    abbreviation = local.tzname() or ""
    if language == "fr":
        clock = f"{local:%H} h {local:%M} {_FRENCH_ABBREVIATIONS.get(abbreviation, abbreviation)}"
        day = f"{local.day} {_MONTHS['fr'][local.month - 1]} {local.year}"
    else:
        clock = f"{local:%H:%M} {abbreviation}"
        day = f"{local.day} {_MONTHS['en'][local.month - 1]} {local.year}"
    return f"{day}, {clock}".strip() if date else clock.strip()
