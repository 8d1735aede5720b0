"""The directory and the roster, kept current through the API; who exists where is published
for the other services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from contracts.events import (
    PersonListed,
    SiteDeclared,
)
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert

from matching import tables as t
from matching.directory.schemas import RosterSupporter

# --- directory and roster, kept current through the API -----------------------------


async def refresh_reach(uow: UnitOfWork) -> None:
    """Copy each supporter's site and region from the directory onto the roster, where the
    pool query reads them. Only rows that changed are written."""
    p, s, site = t.person, t.supporter, t.site
    fresh = (
        sa.select(p.c.staff_ref, p.c.site_id, site.c.region)
        .select_from(p.outerjoin(site, site.c.site_id == p.c.site_id))
        .subquery()
    )
    await uow.session.execute(
        sa.update(s)
        .where(s.c.staff_ref == fresh.c.staff_ref)
        .where(
            sa.or_(s.c.site_id.is_distinct_from(fresh.c.site_id), s.c.region.is_distinct_from(fresh.c.region))
        )
        .values(site_id=fresh.c.site_id, region=fresh.c.region)
    )


async def undeclared_sites(uow: UnitOfWork, site_ids: set[str]) -> list[str]:
    known = set(
        (await uow.session.scalars(sa.select(t.site.c.site_id).where(t.site.c.site_id.in_(site_ids)))).all()
    )
    return sorted(site_ids - known)


async def upsert_people(uow: UnitOfWork, people: list[dict[str, Any]]) -> int:
    if people:
        stmt = insert(t.person).values(people)
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["staff_ref"],
                set_={
                    c: getattr(stmt.excluded, c)
                    for c in (
                        "site_id",
                        "profession",
                        "seniority",
                        "years_experience",
                        "languages",
                        "reports_to",
                        "gender",
                        "unit",
                        "grade",
                        "licence_level",
                        "display_name",
                    )
                },
            )
        )
        # oncall refuses a duty row naming nobody: it learns who exists where from these
        # (every row, so importing again heals a projection rebuilt after the retention)
        version = _version_now()
        for person in people:
            await uow.emit(
                PersonListed(person=person["staff_ref"], site_id=person["site_id"], version=version)
            )
    await refresh_reach(uow)
    return len(people)


def _version_now() -> int:
    """Microseconds since the epoch: later imports outrank earlier ones, across replicas."""
    return int(datetime.now(UTC).timestamp() * 1_000_000)


async def upsert_site(uow: UnitOfWork, site_id: str, values: dict[str, Any]) -> None:
    stmt = insert(t.site).values(site_id=site_id, **values)
    await uow.session.execute(stmt.on_conflict_do_update(index_elements=["site_id"], set_=values))
    await uow.emit(SiteDeclared(site_id=site_id))
    await refresh_reach(uow)


async def upsert_evaluators(uow: UnitOfWork, relations: list[dict[str, Any]]) -> int:
    if relations:
        stmt = insert(t.evaluator).values(relations)
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["evaluator_ref", "evaluatee_ref"], set_={"kind": stmt.excluded.kind}
            )
        )
    return len(relations)


async def upsert_supporters(uow: UnitOfWork, rows: list[dict[str, Any]]) -> int:
    if rows:
        stmt = insert(t.supporter).values(rows)
        columns = ("paused", "mental_health_professional", "dual_relationships", "serves")
        await uow.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["staff_ref"], set_={c: getattr(stmt.excluded, c) for c in columns}
            )
        )
    await refresh_reach(uow)
    return len(rows)


async def site_supporters(
    uow: UnitOfWork, site_id: str, *, window_days: int, now: datetime
) -> list[RosterSupporter]:
    """The supporters whose home is the site, as matching sees them: paused or not,
    how far they serve, eligible or not, and how often they were deployed lately. Never
    their dual relationships (who they must not support is nobody else's business)."""
    since = now - timedelta(days=window_days)
    recent = (
        sa.select(
            t.deployment.c.staff_ref,
            sa.func.count().label("deployments"),
            sa.func.max(t.deployment.c.deployed_at).label("last_deployed_at"),
        )
        .where(t.deployment.c.deployed_at > since)
        .group_by(t.deployment.c.staff_ref)
        .subquery()
    )
    rows = (
        await uow.session.execute(
            sa.select(
                t.supporter.c.staff_ref,
                t.person.c.display_name,
                (t.supporter.c.paused | t.supporter.c.self_paused).label("paused"),
                t.supporter.c.paused.label("paused_by_authority"),
                t.supporter.c.self_paused.label("paused_by_self"),
                t.supporter.c.serves,
                t.supporter.c.mental_health_professional,
                t.eligibility.c.eligible,
                sa.func.coalesce(recent.c.deployments, 0).label("deployments"),
                recent.c.last_deployed_at,
            )
            .outerjoin(t.person, t.person.c.staff_ref == t.supporter.c.staff_ref)
            .outerjoin(t.eligibility, t.eligibility.c.staff_ref == t.supporter.c.staff_ref)
            .outerjoin(recent, recent.c.staff_ref == t.supporter.c.staff_ref)
            .where(t.supporter.c.site_id == site_id)
            .order_by(t.supporter.c.staff_ref)
        )
    ).all()
    return [
        # a supporter with no eligibility row yet is not eligible
        RosterSupporter(**{**r._mapping, "eligible": bool(r.eligible)})
        for r in rows
    ]
