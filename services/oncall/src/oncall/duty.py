"""Who is on duty now, per site and layer."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from contracts.events import (
    DutyChanged,
)
from contracts.types import DutyLayer
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert

from oncall import tables as t


async def coordinator_of(uow: UnitOfWork, site_id: str) -> str | None:
    return await uow.session.scalar(  # type: ignore[no-any-return]
        sa.select(t.duty.c.staff_ref).where(t.duty.c.site_id == site_id, t.duty.c.layer == "coordinator")
    )


async def set_duty(uow: UnitOfWork, site_id: str, assignments: dict[str, str | None]) -> None:
    """Who is on duty now; supporter layers are published for matching to rank by."""
    now = datetime.now(UTC)
    for layer, staff_ref in assignments.items():
        previous = await uow.session.scalar(
            sa.select(t.duty.c.staff_ref).where(t.duty.c.site_id == site_id, t.duty.c.layer == layer)
        )
        stmt = insert(t.duty).values(site_id=site_id, layer=layer, staff_ref=staff_ref, starts_at=now)
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["site_id", "layer"], set_={"staff_ref": staff_ref, "starts_at": now}
            )
        )
        if layer in (DutyLayer.PRIMARY.value, DutyLayer.BACKUP.value) and previous != staff_ref:
            await uow.emit(
                DutyChanged(site_id=site_id, layer=DutyLayer(layer), supporter=staff_ref, starts_at=now)
            )
