"""What the schedules keep in line, in loops: who is on duty now at every site (the duty
table, and matching through DutyChanged), and the coverage gaps of the next four weeks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from contracts.events import CoverageGapForecast, DutyChanged
from servicekit.database import UnitOfWork, UnitOfWorkFactory
from sqlalchemy.dialects.postgresql import insert

from oncall import tables as t
from oncall.messages import MessageKind
from oncall.paging.chain import notify
from oncall.schedule import gaps, timeline
from oncall.schedules.handlers import FORECAST, LAYERS, cannot_serve, load_schedules


async def publish_duty(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Bring the duty table (and matching, through DutyChanged) in line with the schedules:
    run every few seconds, it is idempotent, so a restart misses no handover. Every site is
    read at once (four statements, not five a site: at 60 sites, 20 statements a second at rest)."""
    now = now or datetime.now(UTC)
    schedules = await load_schedules(uow)
    duty = t.duty.c
    held = {
        (row.site_id, row.layer): row.staff_ref
        for row in await uow.session.execute(
            sa.select(duty.site_id, duty.layer, duty.staff_ref)
            .where(duty.layer.in_([layer.value for layer in LAYERS]))
            .with_for_update()
        )
    }
    changed = 0
    for site_id in sorted(schedules):
        for layer in LAYERS:
            current = timeline(schedules[site_id], layer, now, now + timedelta(days=8))[0]
            key = (site_id, layer.value)
            if key in held and held[key] == current.staff_ref:
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
    schedules = await load_schedules(uow)
    for site_id in sorted(schedules):
        schedule = schedules[site_id]
        found = gaps(schedule, now, now + horizon, LAYERS, await cannot_serve(uow, site_id, schedule))
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
