"""Schedules, duty and coverage: use cases as plain functions over a unit of work. The rules
themselves are in oncall.schedule."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from contracts.events import CoverageGapForecast, DutyChanged
from contracts.types import DutyLayer
from servicekit.auth import Principal
from servicekit.database import UnitOfWork, UnitOfWorkFactory
from sqlalchemy.dialects.postgresql import insert

from oncall import directory
from oncall import tables as t
from oncall.messages import MessageKind
from oncall.paging.chain import notify
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
    zone = await uow.session.scalar(sa.select(t.schedule.c.time_zone).where(t.schedule.c.site_id == site_id))
    if zone is None:
        return None
    rotations = (
        await uow.session.execute(
            sa.select(t.rotation).where(t.rotation.c.site_id == site_id).order_by(t.rotation.c.position)
        )
    ).all()
    overrides = (
        await uow.session.execute(
            sa.select(t.duty_override).where(
                t.duty_override.c.site_id == site_id, t.duty_override.c.removed_at.is_(None)
            )
        )
    ).all()
    return Schedule(
        zone,
        tuple(
            Rotation(
                DutyLayer(r.layer),
                tuple(r.members),
                r.starts_local,
                r.shift_hours,
                Restriction(r.restrict_from, r.restrict_to) if r.restrict_from is not None else None,
            )
            for r in rotations
        ),
        tuple(
            Override(DutyLayer(o.layer), o.staff_ref, o.starts_at, o.ends_at, o.override_id)
            for o in overrides
        ),
    )


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


async def _unable(uow: UnitOfWork, site_id: str, schedule: Schedule) -> dict[str, str]:
    return await directory.cannot_serve(uow, site_id, members(schedule))


async def calendar(uow: UnitOfWork, site_id: str, start: datetime, end: datetime) -> Calendar:
    schedule = await _require(uow, site_id)
    unable = await _unable(uow, site_id, schedule)
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


async def _scheduled_sites(uow: UnitOfWork) -> list[str]:
    return list(
        (await uow.session.scalars(sa.select(t.schedule.c.site_id).order_by(t.schedule.c.site_id))).all()
    )


async def publish_duty(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Bring the duty table (and matching, through DutyChanged) in line with the schedules:
    run every few seconds, it is idempotent, so a restart misses no handover."""
    now = now or datetime.now(UTC)
    changed = 0
    for site_id in await _scheduled_sites(uow):
        schedule = await load_schedule(uow, site_id)
        assert schedule is not None
        for layer in LAYERS:
            current = timeline(schedule, layer, now, now + timedelta(days=8))[0]
            held = (
                await uow.session.execute(
                    sa.select(t.duty.c.staff_ref, t.duty.c.starts_at)
                    .where(t.duty.c.site_id == site_id, t.duty.c.layer == layer.value)
                    .with_for_update()
                )
            ).first()
            if held is not None and held.staff_ref == current.staff_ref:
                continue
            starts_at = current.starts_at if current.starts_at < now else now
            await uow.session.execute(
                insert(t.duty)
                .values(site_id=site_id, layer=layer.value, staff_ref=current.staff_ref, starts_at=starts_at)
                .on_conflict_do_update(
                    index_elements=["site_id", "layer"],
                    set_={"staff_ref": current.staff_ref, "starts_at": starts_at},
                )
            )
            await uow.emit(
                DutyChanged(
                    site_id=site_id,
                    layer=layer,
                    supporter=current.staff_ref,
                    starts_at=starts_at,
                    ends_at=current.ends_at,
                )
            )
            changed += 1
    return changed


async def forecast_gaps(uow: UnitOfWork, now: datetime | None = None, horizon: timedelta = FORECAST) -> int:
    """Warn each site's coordinator once about every gap in the next four weeks; a gap
    that an override or a swap has since filled is marked filled."""
    now = now or datetime.now(UTC)
    warned = 0
    for site_id in await _scheduled_sites(uow):
        schedule = await load_schedule(uow, site_id)
        assert schedule is not None
        found = gaps(schedule, now, now + horizon, LAYERS, await _unable(uow, site_id, schedule))
        known = (
            await uow.session.execute(
                sa.select(t.coverage_gap).where(
                    t.coverage_gap.c.site_id == site_id,
                    t.coverage_gap.c.filled_at.is_(None),
                    t.coverage_gap.c.ends_at > now,
                )
            )
        ).all()
        for row in known:
            if not any(
                g.layer.value == row.layer and g.starts_at < row.ends_at and row.starts_at < g.ends_at
                for g in found
            ):
                await uow.session.execute(
                    sa.update(t.coverage_gap)
                    .where(
                        t.coverage_gap.c.site_id == site_id,
                        t.coverage_gap.c.layer == row.layer,
                        t.coverage_gap.c.starts_at == row.starts_at,
                    )
                    .values(filled_at=now)
                )
        coordinator = await uow.session.scalar(
            sa.select(t.duty.c.staff_ref).where(t.duty.c.site_id == site_id, t.duty.c.layer == "coordinator")
        )
        for gap in found:
            # a gap already warned about (the same stretch, seen from a later "now") is not news
            if any(
                row.layer == gap.layer.value and row.starts_at < gap.ends_at and gap.starts_at < row.ends_at
                for row in known
            ):
                continue
            await uow.session.execute(
                insert(t.coverage_gap)
                .values(
                    site_id=site_id,
                    layer=gap.layer.value,
                    starts_at=gap.starts_at,
                    ends_at=gap.ends_at,
                    warned_at=now,
                )
                .on_conflict_do_nothing()
            )
            await uow.emit(
                CoverageGapForecast(
                    site_id=site_id, layer=gap.layer, starts_at=gap.starts_at, ends_at=gap.ends_at
                )
            )
            if coordinator:
                zone = schedule.zone
                await notify(
                    uow,
                    MessageKind.GAP,
                    coordinator,
                    site_id=site_id,
                    detail={
                        "layer": gap.layer.value,
                        "starts_local": gap.starts_at.astimezone(zone).strftime("%a %d %b %H:%M"),
                        "ends_local": gap.ends_at.astimezone(zone).strftime("%a %d %b %H:%M"),
                        "time_zone": schedule.time_zone,
                    },
                )
            warned += 1
    return warned


async def publish_duty_once(units: UnitOfWorkFactory) -> int:
    async with units() as uow:
        return await publish_duty(uow)


async def forecast_gaps_once(units: UnitOfWorkFactory) -> int:
    async with units() as uow:
        return await forecast_gaps(uow)
