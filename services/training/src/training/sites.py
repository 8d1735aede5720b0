"""The sites of the authority, from matching's directory: nobody is registered at a site nobody
declared."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import (
    SiteDeclared,
)
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert

from training import tables as t


class UnknownSite(ValueError):
    """The site is not one matching's directory declared."""


async def on_site_declared(event: SiteDeclared, uow: UnitOfWork, _e: Envelope) -> None:
    await uow.session.execute(
        insert(t.known_site)
        .values(site_id=event.site_id, declared_at=datetime.now(UTC))
        .on_conflict_do_nothing()
    )


async def require_site(uow: UnitOfWork, site_id: str) -> None:
    """A typo makes no phantom site: the person would vanish from the real roster."""
    if (
        await uow.session.scalar(sa.select(t.known_site.c.site_id).where(t.known_site.c.site_id == site_id))
        is None
    ):
        raise UnknownSite(
            f"{site_id} is not a site of this authority (or its declaration has not reached "
            "training yet): declare it in the directory first"
        )
