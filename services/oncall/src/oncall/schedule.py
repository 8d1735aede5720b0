"""Who is on duty when: pure rules over a site's schedule, no I/O (DOMAIN.md, "On call").

A schedule lives in the site's IANA time zone because people hand over at 08:00 local, in
summer and in winter; everything it answers is in UTC. A rotation hands over every
``shift_hours`` of *wall-clock* time from its start, so a daily shift that spans a
daylight-saving change lasts 23 or 25 hours and the next one still starts at 08:00. An
optional restriction (e.g. nights only, 20:00 to 08:00) limits a rotation to part of each
day. Several rotations of a layer are tried in order: the first that covers an instant
wins. Overrides win over every rotation, and a later override wins over an earlier one
(an override of an override). A swap is two overrides, one on each supporter's shift.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from contracts.types import DutyLayer


class Source(StrEnum):
    ROTATION = "rotation"
    OVERRIDE = "override"
    GAP = "gap"


@dataclass(frozen=True)
class Restriction:
    """The part of each local day a rotation covers; ``ends`` before ``starts`` wraps past
    midnight (nights)."""

    starts: time
    ends: time

    def covers(self, local: time) -> bool:
        if self.starts == self.ends:
            return True
        if self.starts < self.ends:
            return self.starts <= local < self.ends
        return local >= self.starts or local < self.ends


@dataclass(frozen=True)
class Rotation:
    layer: DutyLayer
    members: tuple[str, ...]
    starts: datetime  # naive, local wall-clock time of the first handover
    shift_hours: int  # 24 daily, 168 weekly, anything else custom
    restriction: Restriction | None = None

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("a rotation needs at least one member")
        if self.shift_hours < 1:
            raise ValueError("a shift lasts at least one hour")
        if self.starts.tzinfo is not None:
            raise ValueError("a rotation starts at a local wall-clock time, without a zone")


@dataclass(frozen=True)
class Override:
    layer: DutyLayer
    staff_ref: str
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC, exclusive
    precedence: int  # the later an override was made, the higher: it wins


@dataclass(frozen=True)
class Schedule:
    time_zone: str
    rotations: tuple[Rotation, ...] = ()
    overrides: tuple[Override, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True)
class Segment:
    """Who holds a layer from ``starts_at`` (inclusive) to ``ends_at`` (exclusive)."""

    layer: DutyLayer
    starts_at: datetime
    ends_at: datetime
    staff_ref: str | None
    source: Source

    @property
    def is_gap(self) -> bool:
        return self.staff_ref is None


def _utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A local wall-clock time as an instant. A time skipped by the spring change (02:30)
    is read with the offset before the change, as zoneinfo does, so handovers stay in order."""
    return local.replace(tzinfo=zone).astimezone(UTC)


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def handover(rotation: Rotation, k: int, zone: ZoneInfo) -> datetime:
    """The instant of the rotation's k-th handover (k may be negative)."""
    return _utc(rotation.starts + timedelta(hours=k * rotation.shift_hours), zone)


def shift_index(rotation: Rotation, at: datetime, zone: ZoneInfo) -> int:
    """k such that handover(k) <= at < handover(k + 1)."""
    elapsed = (_local(at, zone) - rotation.starts).total_seconds() / 3600
    k = math.floor(elapsed / rotation.shift_hours)
    # the wall-clock estimate can be one off around a change; settle it on instants
    while handover(rotation, k, zone) > at:
        k -= 1
    while handover(rotation, k + 1, zone) <= at:
        k += 1
    return k


def _rotation_member(rotation: Rotation, at: datetime, zone: ZoneInfo) -> str | None:
    if rotation.restriction is not None and not rotation.restriction.covers(_local(at, zone).time()):
        return None
    k = shift_index(rotation, at, zone)
    if k < 0:
        return None  # before the rotation begins
    return rotation.members[k % len(rotation.members)]


def on_duty(schedule: Schedule, layer: DutyLayer, at: datetime) -> tuple[str | None, Source]:
    """Who holds ``layer`` at the instant ``at``, and why."""
    winner: Override | None = None
    for o in schedule.overrides:
        if o.layer is layer and o.starts_at <= at < o.ends_at:
            if winner is None or o.precedence > winner.precedence:
                winner = o
    if winner is not None:
        return winner.staff_ref, Source.OVERRIDE
    zone = schedule.zone
    for rotation in schedule.rotations:
        if rotation.layer is layer:
            member = _rotation_member(rotation, at, zone)
            if member is not None:
                return member, Source.ROTATION
    return None, Source.GAP


def _boundaries(schedule: Schedule, layer: DutyLayer, start: datetime, end: datetime) -> list[datetime]:
    """Every instant in (start, end) at which the holder of ``layer`` may change."""
    zone = schedule.zone
    found: set[datetime] = set()
    for rotation in schedule.rotations:
        if rotation.layer is not layer:
            continue
        k = max(0, shift_index(rotation, start, zone))
        while (at := handover(rotation, k, zone)) < end:
            found.add(at)
            k += 1
        if rotation.restriction is not None:
            day = _local(start, zone).date() - timedelta(days=1)
            last = _local(end, zone).date() + timedelta(days=1)
            while day <= last:
                for edge in (rotation.restriction.starts, rotation.restriction.ends):
                    found.add(_utc(datetime.combine(day, edge), zone))
                day += timedelta(days=1)
    for o in schedule.overrides:
        if o.layer is layer:
            found.update((o.starts_at, o.ends_at))
    return sorted(at for at in found if start < at < end)


def timeline(schedule: Schedule, layer: DutyLayer, start: datetime, end: datetime) -> list[Segment]:
    """Who holds ``layer`` over [start, end), as contiguous segments (gaps included): no
    instant is in two segments and none is in no segment."""
    if end <= start:
        return []
    cuts = [start, *_boundaries(schedule, layer, start, end), end]
    segments: list[Segment] = []
    for a, b in itertools.pairwise(cuts):
        staff_ref, source = on_duty(schedule, layer, a)
        if segments and (segments[-1].staff_ref, segments[-1].source) == (staff_ref, source):
            last = segments.pop()
            a = last.starts_at
        segments.append(Segment(layer, a, b, staff_ref, source))
    return segments


def shifts(schedule: Schedule, layer: DutyLayer, start: datetime, end: datetime) -> list[Segment]:
    """The timeline cut at every handover and override edge: one segment a shift, as a
    calendar shows them (the timeline joins two shifts of the same person)."""
    zone = schedule.zone
    cuts: set[datetime] = set()
    for rotation in schedule.rotations:
        if rotation.layer is layer:
            k = max(0, shift_index(rotation, start, zone))
            while (at := handover(rotation, k, zone)) < end:
                cuts.add(at)
                k += 1
    for o in schedule.overrides:
        if o.layer is layer:
            cuts.update((o.starts_at, o.ends_at))
    out = []
    for s in timeline(schedule, layer, start, end):
        inside = sorted(c for c in cuts if s.starts_at < c < s.ends_at)
        for a, b in itertools.pairwise([s.starts_at, *inside, s.ends_at]):
            out.append(Segment(layer, a, b, s.staff_ref, s.source))
    return out


def gaps(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    layers: Iterable[DutyLayer],
    cannot_serve: Collection[str] = frozenset(),
) -> list[Segment]:
    """Where nobody holds a layer in [start, end), or only someone who cannot serve (not
    eligible, paused, not of the site): what a coordinator must fill."""
    return [
        s
        for layer in layers
        for s in timeline(schedule, layer, start, end)
        if s.is_gap or s.staff_ref in cannot_serve
    ]


def members(schedule: Schedule) -> set[str]:
    """Everyone the schedule names, in a rotation or an override."""
    return {m for r in schedule.rotations for m in r.members} | {o.staff_ref for o in schedule.overrides}


def swap(
    schedule: Schedule, layer: DutyLayer, first: datetime, second: datetime, precedence: int
) -> tuple[Override, Override]:
    """Two supporters trade the shifts that hold ``first`` and ``second``: each takes the
    other's shift, as two overrides. Refused when either instant has nobody on duty or
    when both fall on the same person."""
    one = _shift_at(schedule, layer, first)
    two = _shift_at(schedule, layer, second)
    if one.staff_ref is None or two.staff_ref is None:
        raise ValueError("a swap trades two covered shifts; one of these times has nobody on duty")
    if one.staff_ref == two.staff_ref:
        raise ValueError("both shifts belong to the same supporter; there is nothing to swap")
    return (
        Override(layer, two.staff_ref, one.starts_at, one.ends_at, precedence),
        Override(layer, one.staff_ref, two.starts_at, two.ends_at, precedence),
    )


def _shift_at(schedule: Schedule, layer: DutyLayer, at: datetime) -> Segment:
    """The whole stretch around ``at`` held by the same person, within a week either way."""
    week = timedelta(days=7)
    for segment in timeline(schedule, layer, at - week, at + week):
        if segment.starts_at <= at < segment.ends_at:
            return segment
    raise AssertionError("timeline covers every instant")  # pragma: no cover
