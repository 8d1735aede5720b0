"""A site's public data."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert

from intake import tables
from intake.domain import (
    ReferralRejected,
)

# --- sites ------------------------------------------------------------------------------


async def upsert_site(uow: UnitOfWork, site_id: str, values: dict[str, Any]) -> None:
    stmt = insert(tables.site).values(site_id=site_id, **values)
    await uow.session.execute(stmt.on_conflict_do_update(index_elements=["site_id"], set_=values))


async def site(uow: UnitOfWork, site_id: str) -> Any:
    return (await uow.session.execute(sa.select(tables.site).where(tables.site.c.site_id == site_id))).first()


async def every_site(uow: UnitOfWork) -> list[Any]:
    query = sa.select(tables.site.c.site_id, tables.site.c.display_name).order_by(tables.site.c.display_name)
    return list((await uow.session.execute(query)).all())


def unknown_site(site_id: str) -> ReferralRejected:
    return ReferralRejected(f"site_id '{site_id}' is not a site of this authority")


async def known_site(uow: UnitOfWork, site_id: str) -> Any:
    row = await site(uow, site_id)
    if row is None:
        raise unknown_site(site_id)
    return row
