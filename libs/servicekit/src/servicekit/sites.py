"""The sites matching's directory declared, as another service knows them (from its
``SiteDeclared`` events): nobody is put on a roster or a schedule at a site nobody declared,
so a typo makes no phantom site."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import SiteDeclared
from sqlalchemy.dialects.postgresql import insert

from servicekit.database import UnitOfWork


def known_site_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "known_site",
        metadata,
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
    )


class KnownSites:
    """One service's projection of the declared sites; ``refusal`` is the error it raises."""

    def __init__(self, table: sa.Table, service: str, refusal: type[Exception]) -> None:
        self.table = table
        self.service = service
        self.refusal = refusal

    async def on_site_declared(self, event: SiteDeclared, uow: UnitOfWork, _e: Envelope) -> None:
        await uow.session.execute(
            insert(self.table)
            .values(site_id=event.site_id, declared_at=datetime.now(UTC))
            .on_conflict_do_nothing()
        )

    async def require(self, uow: UnitOfWork, site_id: str) -> None:
        found = await uow.session.scalar(
            sa.select(self.table.c.site_id).where(self.table.c.site_id == site_id)
        )
        if found is None:
            raise self.refusal(
                f"{site_id} is not a site of this authority (or its declaration has not reached "
                f"{self.service} yet): declare it in the directory first"
            )
