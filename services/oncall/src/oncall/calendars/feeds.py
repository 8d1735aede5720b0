"""What a calendar feed holds: pure, over schedules (DOMAIN.md, "On call").

A site's feed has every shift of every layer and every gap (a coordinator sees the nights
nobody covers); a supporter's feed has their own shifts at every site that schedules them.
The span runs from four weeks back to six months ahead. Shifts are computed from a start on a
fixed 91-day grid, so a shift that began before the span keeps its start, and its UID, from
one fetch to the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts.types import DutyLayer

from oncall.calendars.ical import Shift
from oncall.schedule import Schedule, Segment, shifts

BACK = timedelta(weeks=4)
AHEAD = timedelta(weeks=26)
GRID = timedelta(days=91)
_GRID_ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)

WORDS = {
    "en": {
        "site": "On-call schedule, {site}",
        "mine": "My on-call shifts",
        "held": "{layer} on call: {who}",
        "gap": "Nobody on call as {layer}",
        "own": "On call ({layer}), site {site}",
        "primary": "primary",
        "backup": "backup",
        "Primary": "Primary",
        "Backup": "Backup",
        "gap_note": "A gap: the coordinator is paged in place of this layer.",
    },
    "fr": {
        "site": "Horaire de garde, {site}",
        "mine": "Mes gardes",
        "held": "De garde ({layer}) : {who}",
        "gap": "Personne de garde ({layer})",
        "own": "De garde ({layer}), site {site}",
        "primary": "principal",
        "backup": "relève",
        "Primary": "principal",
        "Backup": "relève",
        "gap_note": "Un trou : la coordination est appelée à la place de ce niveau.",
    },
}


@dataclass(frozen=True)
class Span:
    begin: datetime
    end: datetime

    @property
    def computed_from(self) -> datetime:
        """Where shifts are cut from: on the grid, at least a grid step before ``begin``."""
        steps = (self.begin - _GRID_ORIGIN) // GRID
        return _GRID_ORIGIN + (steps - 1) * GRID


def span_at(now: datetime) -> Span:
    return Span(now - BACK, now + AHEAD)


def _words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])


def _in_span(schedule: Schedule, span: Span) -> Iterator[tuple[DutyLayer, Segment]]:
    """Each layer's shifts that end after the span begins (cut from the span's grid)."""
    for layer in DutyLayer:
        for s in shifts(schedule, layer, span.computed_from, span.end):
            if s.ends_at > span.begin:
                yield layer, s


def site_shifts(site_id: str, schedule: Schedule, span: Span, language: str = "en") -> list[Shift]:
    words = _words(language)
    found = []
    for layer, s in _in_span(schedule, span):
        if s.staff_ref is None:
            summary = words["gap"].format(layer=words[layer.value])
            description = words["gap_note"]
        else:
            summary = words["held"].format(layer=words[layer.value.title()], who=s.staff_ref)
            description = ""
        key = f"site|{site_id}|{layer.value}|{s.staff_ref or '-'}|{s.starts_at.isoformat()}"
        found.append(Shift(key, s.starts_at, s.ends_at, schedule.time_zone, summary, description))
    return found


def own_shifts(
    staff_ref: str, schedules: dict[str, Schedule], span: Span, language: str = "en"
) -> list[Shift]:
    words = _words(language)
    found = []
    for site_id, schedule in sorted(schedules.items()):
        for layer, s in _in_span(schedule, span):
            if s.staff_ref == staff_ref:
                key = f"mine|{staff_ref}|{site_id}|{layer.value}|{s.starts_at.isoformat()}"
                summary = words["own"].format(layer=words[layer.value], site=site_id)
                found.append(Shift(key, s.starts_at, s.ends_at, schedule.time_zone, summary))
    return found


def title(scope: str, language: str, site_id: str | None) -> str:
    words = _words(language)
    return words["site"].format(site=site_id) if scope == "site" else words["mine"]
