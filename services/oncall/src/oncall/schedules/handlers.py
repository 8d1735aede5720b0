"""Schedules, duty and coverage: use cases as plain functions over a unit of work. The rules
themselves are in oncall.schedule."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from contracts.types import DutyLayer
from servicekit.auth import Principal
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert

from oncall import directory
from oncall import tables as t
from oncall.schedule import (
    Override,
    Restriction,
    Rotation,
    Schedule,
    Segment,
    gaps,
    members,
    swap,
    timeline,
)
from oncall.schedules.schemas import Calendar, OverrideShown, Shift, Swapped
from oncall.schedules.schemas import Segment as SegmentShown

LAYERS = (DutyLayer.PRIMARY, DutyLayer.BACKUP)
FORECAST = timedelta(days=28)


class ScheduleNotFound(LookupError):
    pass


class ScheduleRefused(ValueError):
    """The change cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class RotationIn:
    layer: DutyLayer
    members: list[str]
    starts_local: datetime
    shift_hours: int
    restrict_from: time | None = None
    restrict_to: time | None = None


async def load_schedule(uow: UnitOfWork, site_id: str) -> Schedule | None:
    return (await load_schedules(uow, [site_id])).get(site_id)


async def load_schedules(uow: UnitOfWork, site_ids: list[str] | None = None) -> dict[str, Schedule]:
    """The schedules of ``site_ids`` (None: every site's), in three statements whatever their
    number: the duty loop reads them all every few seconds, and read a site at a time they
    were five statements a site."""
    schedules, rotations, overrides = t.schedule, t.rotation, t.duty_override
    zones = sa.select(schedules.c.site_id, schedules.c.time_zone)
    rotations_of = sa.select(rotations).order_by(rotations.c.site_id, rotations.c.position)
    overrides_of = (
        sa.select(overrides).where(overrides.c.removed_at.is_(None)).order_by(overrides.c.override_id)
    )
    if site_ids is not None:
        zones = zones.where(schedules.c.site_id.in_(site_ids))
        rotations_of = rotations_of.where(rotations.c.site_id.in_(site_ids))
        overrides_of = overrides_of.where(overrides.c.site_id.in_(site_ids))
    found = {row.site_id: row.time_zone for row in await uow.session.execute(zones)}
    if not found:
        return {}
    rotated: dict[str, list[Rotation]] = {site_id: [] for site_id in found}
    for r in await uow.session.execute(rotations_of):
        restriction = Restriction(r.restrict_from, r.restrict_to) if r.restrict_from is not None else None
        rotation = Rotation(DutyLayer(r.layer), tuple(r.members), r.starts_local, r.shift_hours, restriction)
        rotated.get(r.site_id, []).append(rotation)
    overridden: dict[str, list[Override]] = {site_id: [] for site_id in found}
    for o in await uow.session.execute(overrides_of):
        override = Override(DutyLayer(o.layer), o.staff_ref, o.starts_at, o.ends_at, o.override_id)
        overridden.get(o.site_id, []).append(override)
    return {
        site_id: Schedule(zone, tuple(rotated[site_id]), tuple(overridden[site_id]))
        for site_id, zone in found.items()
    }


async def put_schedule(uow: UnitOfWork, site_id: str, time_zone: str, rotations: list[RotationIn]) -> None:
    """Replace the site's rotations. Overrides and swaps stay: they are about dates. Every
    member is a supporter of the site (directory.NotOfSite names those who are not)."""
    await directory.require_site(uow, site_id)
    await directory.require_supporters(uow, site_id, [m for r in rotations for m in r.members])
    await uow.session.execute(
        insert(t.schedule)
        .values(site_id=site_id, time_zone=time_zone)
        .on_conflict_do_update(index_elements=["site_id"], set_={"time_zone": time_zone})
    )
    await uow.session.execute(sa.delete(t.rotation).where(t.rotation.c.site_id == site_id))
    for position, r in enumerate(rotations):
        await uow.session.execute(
            sa.insert(t.rotation).values(
                site_id=site_id,
                layer=r.layer.value,
                position=position,
                members=r.members,
                starts_local=r.starts_local,
                shift_hours=r.shift_hours,
                restrict_from=r.restrict_from,
                restrict_to=r.restrict_to,
            )
        )


async def _require(uow: UnitOfWork, site_id: str) -> Schedule:
    schedule = await load_schedule(uow, site_id)
    if schedule is None:
        raise ScheduleNotFound(site_id)
    return schedule


async def add_override(
    uow: UnitOfWork,
    site_id: str,
    layer: DutyLayer,
    staff_ref: str,
    starts_at: datetime,
    ends_at: datetime,
    principal: Principal,
) -> int:
    await _require(uow, site_id)
    await directory.require_supporters(uow, site_id, [staff_ref])
    override_id = await uow.session.scalar(
        sa.insert(t.duty_override)
        .values(
            site_id=site_id,
            layer=layer.value,
            staff_ref=staff_ref,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=principal.subject,
            created_at=datetime.now(UTC),
        )
        .returning(t.duty_override.c.override_id)
    )
    return int(override_id or 0)


async def remove_override(uow: UnitOfWork, site_id: str, override_id: int) -> bool:
    removed = await uow.session.scalar(
        sa.update(t.duty_override)
        .where(
            t.duty_override.c.site_id == site_id,
            t.duty_override.c.override_id == override_id,
            t.duty_override.c.removed_at.is_(None),
        )
        .values(removed_at=datetime.now(UTC))
        .returning(t.duty_override.c.override_id)
    )
    return removed is not None


async def add_swap(
    uow: UnitOfWork, site_id: str, layer: DutyLayer, first: datetime, second: datetime, principal: Principal
) -> Swapped:
    """Two supporters trade the shifts holding ``first`` and ``second``: two overrides that
    share a swap id, so the history shows them as one trade."""
    schedule = await _require(uow, site_id)
    try:
        one, two = swap(schedule, layer, first, second, precedence=0)
    except ValueError as exc:
        raise ScheduleRefused(str(exc)) from None
    swap_id = uuid.uuid4()
    now = datetime.now(UTC)
    for o in (one, two):
        await uow.session.execute(
            sa.insert(t.duty_override).values(
                site_id=site_id,
                layer=layer.value,
                staff_ref=o.staff_ref,
                starts_at=o.starts_at,
                ends_at=o.ends_at,
                swap_id=swap_id,
                created_by=principal.subject,
                created_at=now,
            )
        )
    return Swapped(
        swap_id=swap_id,
        shifts=[Shift(supporter=o.staff_ref, starts_at=o.starts_at, ends_at=o.ends_at) for o in (one, two)],
    )


def _segment(s: Segment, unable: dict[str, str]) -> SegmentShown:
    why = None
    if s.staff_ref is None:
        why = "nobody scheduled"
    elif s.staff_ref in unable:
        # held on paper by someone who will not answer: a gap all the same
        why = unable[s.staff_ref]
    return SegmentShown(
        layer=s.layer.value,
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        supporter=s.staff_ref,
        source=s.source.value,
        why=why,
    )


async def cannot_serve(uow: UnitOfWork, site_id: str, schedule: Schedule) -> dict[str, str]:
    return await directory.cannot_serve(uow, site_id, members(schedule))


async def calendar(uow: UnitOfWork, site_id: str, start: datetime, end: datetime) -> Calendar:
    schedule = await _require(uow, site_id)
    unable = await cannot_serve(uow, site_id, schedule)
    layers = {
        layer.value: [_segment(s, unable) for s in timeline(schedule, layer, start, end)] for layer in LAYERS
    }
    overrides = (
        await uow.session.execute(
            sa.select(t.duty_override)
            .where(
                t.duty_override.c.site_id == site_id,
                t.duty_override.c.removed_at.is_(None),
                t.duty_override.c.ends_at > start,
                t.duty_override.c.starts_at < end,
            )
            .order_by(t.duty_override.c.override_id)
        )
    ).all()
    return Calendar(
        site_id=site_id,
        time_zone=schedule.time_zone,
        start=start,
        end=end,
        layers=layers,
        gaps=[_segment(g, unable) for g in gaps(schedule, start, end, LAYERS, unable)],
        overrides=[
            OverrideShown(
                override_id=o.override_id,
                layer=o.layer,
                supporter=o.staff_ref,
                starts_at=o.starts_at,
                ends_at=o.ends_at,
                swap_id=o.swap_id,
            )
            for o in overrides
        ],
    )
