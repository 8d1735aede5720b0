"""A supporter's own settings: availability (matching follows the event) and contact routes,
sealed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from contracts.events import SupporterAvailabilityChanged
from servicekit.database import UnitOfWork
from servicekit.driver import DriverStatement
from servicekit.vault import PersonalDataVault
from sqlalchemy.dialects.postgresql import ARRAY, insert

from oncall import tables as t


async def set_availability(uow: UnitOfWork, staff_ref: str, available: bool) -> int:
    """A supporter steps away or comes back, themself; matching follows the event."""
    now = datetime.now(UTC)
    version = await uow.session.scalar(
        insert(t.availability)
        .values(staff_ref=staff_ref, available=available, version=1, changed_at=now)
        .on_conflict_do_update(
            index_elements=["staff_ref"],
            set_={"available": available, "version": t.availability.c.version + 1, "changed_at": now},
        )
        .returning(t.availability.c.version)
    )
    await uow.emit(
        SupporterAvailabilityChanged(supporter=staff_ref, available=available, version=int(version or 1)),
        site_id="authority",
    )
    return int(version or 1)


async def availability(uow: UnitOfWork, staff_ref: str) -> tuple[bool, int]:
    """Whether the supporter takes cases now (never having stepped away: yes), and the
    version of their last change."""
    row = (
        await uow.session.execute(
            sa.select(t.availability.c.available, t.availability.c.version).where(
                t.availability.c.staff_ref == staff_ref
            )
        )
    ).first()
    return (True, 0) if row is None else (bool(row.available), int(row.version))


async def put_routes(
    uow: UnitOfWork, vault: PersonalDataVault, staff_ref: str, routes: list[tuple[str, str]]
) -> None:
    await uow.session.execute(sa.delete(t.contact_route).where(t.contact_route.c.staff_ref == staff_ref))
    for position, (channel, address) in enumerate(routes):
        await uow.session.execute(
            sa.insert(t.contact_route).values(
                staff_ref=staff_ref, position=position, channel=channel, address=vault.seal(address)
            )
        )


async def routes(uow: UnitOfWork, vault: PersonalDataVault, staff_ref: str) -> list[tuple[str, str]]:
    """A person's contact routes in order, as (channel, address), opened."""
    return (await routes_of_each(uow, vault, [staff_ref]))[staff_ref]


# built once, on the driver: the delivery loop reads it for every message it sends
_ROUTES = DriverStatement(
    sa.select(t.contact_route.c.staff_ref, t.contact_route.c.channel, t.contact_route.c.address)
    .where(t.contact_route.c.staff_ref == sa.func.any(sa.bindparam("staff_refs", type_=ARRAY(sa.Text))))
    .order_by(t.contact_route.c.staff_ref, t.contact_route.c.position)
)


async def routes_of_each(
    uow: UnitOfWork, vault: PersonalDataVault, staff_refs: Iterable[str]
) -> dict[str, list[tuple[str, str]]]:
    """Each person's contact routes in order, opened, in one round trip (none: an empty list)."""
    found: dict[str, list[tuple[str, str]]] = {ref: [] for ref in staff_refs}
    for row in await _ROUTES.rows(uow, {"staff_refs": list(found)}):
        found[row.staff_ref].append((row.channel, vault.open(row.address) or ""))
    return found
