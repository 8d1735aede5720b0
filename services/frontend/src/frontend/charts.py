"""What the schedule and metrics pages draw: pure shaping of the services' answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from frontend.gateway import as_time

TOTAL = "total"


@dataclass(frozen=True)
class Slot:
    """A part of one day in one layer: who holds it, or nobody (a gap)."""

    layer: str
    starts: str  # local HH:MM
    ends: str
    supporter: str | None
    source: str | None

    @property
    def gap(self) -> bool:
        return self.supporter is None


@dataclass
class Day:
    day: datetime
    slots: dict[str, list[Slot]] = field(default_factory=dict)

    @property
    def has_gap(self) -> bool:
        return any(s.gap for slots in self.slots.values() for s in slots)


def calendar_days(calendar: dict[str, Any], begin: datetime, zone: ZoneInfo, days: int = 7) -> list[Day]:
    """Each local day of the week, each layer cut at midnight: a shift or a gap."""
    out = []
    for n in range(days):
        start = (begin + timedelta(days=n)).replace(tzinfo=zone)
        end = start + timedelta(days=1)
        day = Day(start)
        for layer, segments in calendar["layers"].items():
            slots = []
            for s in segments:
                s_start = as_time(s["starts_at"]).astimezone(zone)
                s_end = as_time(s["ends_at"]).astimezone(zone)
                if s_end <= start or s_start >= end:
                    continue
                cut_start, cut_end = max(s_start, start), min(s_end, end)
                slots.append(
                    Slot(
                        layer,
                        cut_start.strftime("%H:%M"),
                        "24:00" if cut_end == end else cut_end.strftime("%H:%M"),
                        s.get("supporter"),
                        s.get("source"),
                    )
                )
            day.slots[layer] = slots
        out.append(day)
    return out


def local_segments(segments: list[dict[str, Any]], zone: ZoneInfo) -> list[dict[str, Any]]:
    return [
        {
            **s,
            "starts_local": as_time(s["starts_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "ends_local": as_time(s["ends_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        }
        for s in segments
    ]


@dataclass(frozen=True)
class Bar:
    dimension: str
    value: float | None
    withheld: bool
    percent: float  # of the widest bar of its chart, for drawing


# the words of a measure's dimension are those of the code it counts by (a reason's category,
# a path, a role, ...); any other dimension is said with the metrics page's own words
DIMENSION_WORDS = {
    "referrals_by_reason": "category",
    "referrals_by_path": "path",
    "acknowledged_pages": "role",
    "closed": "outcome",
    "certifications_granted": "course",
    "certifications_lapsed": "course",
}


@dataclass(frozen=True)
class MeasureChart:
    measure: str
    total: Bar | None
    bars: list[Bar]

    @property
    def words(self) -> str:
        """The catalogue kind its dimensions are said in."""
        return DIMENSION_WORDS.get(self.measure, "dimension")


def measure_charts(cells: list[dict[str, Any]]) -> list[MeasureChart]:
    """One chart a measure: its total apart, a bar a dimension. A withheld cell is drawn
    as withheld, never as zero."""
    by_measure: dict[str, list[dict[str, Any]]] = {}
    for cell in cells:
        by_measure.setdefault(str(cell["measure"]), []).append(cell)
    charts = []
    for measure, found in sorted(by_measure.items()):
        parts = [c for c in found if c["dimension"] != TOTAL and c["value"] is not None]
        widest = max((float(c["value"]) for c in parts), default=0.0) or 1.0

        def bar(c: dict[str, Any], widest: float = widest) -> Bar:
            value = None if c["value"] is None else float(c["value"])
            return Bar(str(c["dimension"]), value, bool(c["withheld"]), 100 * (value or 0) / widest)

        total = next((bar(c) for c in found if c["dimension"] == TOTAL), None)
        bars = [bar(c) for c in sorted(found, key=lambda c: str(c["dimension"])) if c["dimension"] != TOTAL]
        charts.append(MeasureChart(measure, total, bars))
    return charts
