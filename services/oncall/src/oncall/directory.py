"""Who exists where, as oncall knows it: the sites matching's directory declared, its people
and training's supporters with their eligibility, projected from their events (never read
from their tables). A duty row, a rotation member or an override naming someone who is not
of the site is refused; a member who cannot serve (ineligible, or paused themself) shows
as a gap, so coverage never reports a person who will not answer."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import PersonListed, SupporterEligibilityChanged
from servicekit.database import UnitOfWork
from servicekit.sites import KnownSites
from sqlalchemy.dialects.postgresql import insert

from oncall import tables as t


class NotOfSite(ValueError):
    """Someone named is not of the site; the message names them and nothing else (the same
    words for a typo and for another site's person, so a refusal is no look-up)."""


# why a member on the schedule cannot serve, as the coordinator reads it
NOT_OF_SITE = "not a supporter of this site"
INELIGIBLE = "not eligible (training)"
PAUSED = "paused (stepped away)"

known_sites = KnownSites(t.known_site, "oncall", NotOfSite)
on_site_declared = known_sites.on_site_declared
require_site = known_sites.require


async def on_person_listed(event: PersonListed, uow: UnitOfWork, _e: Envelope) -> None:
    stmt = insert(t.known_person).values(staff_ref=event.person, site_id=event.site_id, version=event.version)
    await uow.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["staff_ref"],
            set_={"site_id": stmt.excluded.site_id, "version": stmt.excluded.version},
            where=t.known_person.c.version < stmt.excluded.version,  # an older fact never wins
        )
    )


async def on_eligibility_changed(event: SupporterEligibilityChanged, uow: UnitOfWork, _e: Envelope) -> None:
    stmt = insert(t.known_supporter).values(
        staff_ref=event.supporter, home_site=event.home_site, eligible=event.eligible, version=event.version
    )
    await uow.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["staff_ref"],
            set_={
                "home_site": stmt.excluded.home_site,
                "eligible": stmt.excluded.eligible,
                "version": stmt.excluded.version,
            },
            where=t.known_supporter.c.version < stmt.excluded.version,
        )
    )


async def require_supporters(uow: UnitOfWork, site_id: str, refs: Iterable[str | None]) -> None:
    """Everyone named holds a supporter layer of this site: a supporter whose home it is."""
    wanted = {r for r in refs if r}
    if not wanted:
        return
    found = set(
        (
            await uow.session.scalars(
                sa.select(t.known_supporter.c.staff_ref).where(
                    t.known_supporter.c.staff_ref.in_(wanted), t.known_supporter.c.home_site == site_id
                )
            )
        ).all()
    )
    missing = sorted(wanted - found)
    if missing:
        raise NotOfSite(f"not supporters of this site: {', '.join(missing)}")


async def require_people(uow: UnitOfWork, site_id: str, refs: Iterable[str | None]) -> None:
    """The coordinator layer: a person of this site's directory, or one of its supporters."""
    wanted = {r for r in refs if r}
    if not wanted:
        return
    people = sa.select(t.known_person.c.staff_ref).where(
        t.known_person.c.staff_ref.in_(wanted), t.known_person.c.site_id == site_id
    )
    supporters = sa.select(t.known_supporter.c.staff_ref).where(
        t.known_supporter.c.staff_ref.in_(wanted), t.known_supporter.c.home_site == site_id
    )
    found = set((await uow.session.scalars(people.union(supporters))).all())
    missing = sorted(wanted - found)
    if missing:
        raise NotOfSite(f"not people of this site: {', '.join(missing)}")


async def cannot_serve(uow: UnitOfWork, site_id: str, refs: Iterable[str]) -> dict[str, str]:
    """Of these members of the site's schedule, who cannot answer a page now, and why."""
    wanted = set(refs)
    if not wanted:
        return {}
    rows = (
        await uow.session.execute(
            sa.select(
                t.known_supporter.c.staff_ref,
                t.known_supporter.c.home_site,
                t.known_supporter.c.eligible,
                t.availability.c.available,
            )
            .select_from(t.known_supporter)
            .outerjoin(t.availability, t.availability.c.staff_ref == t.known_supporter.c.staff_ref)
            .where(t.known_supporter.c.staff_ref.in_(wanted))
        )
    ).all()
    known = {r.staff_ref: r for r in rows}
    found: dict[str, str] = {}
    for ref in wanted:
        row = known.get(ref)
        if row is None or row.home_site != site_id:
            # on the schedule from before oncall knew who exists where, or moved since
            found[ref] = NOT_OF_SITE
        elif not row.eligible:
            found[ref] = INELIGIBLE
        elif row.available is False:
            found[ref] = PAUSED
    return found
