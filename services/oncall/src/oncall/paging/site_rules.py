"""What paging a case reads of its site, in one round trip: the zone its messages tell
the time in, the authority's answer timeouts and service levels, and the coordinator on duty.

Starting an episode read these in four statements, and whether the episode existed in a
fifth: each a round trip to the database, which is most of what oncall spends on a page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from contracts.types import Urgency
from servicekit.database import UnitOfWork
from servicekit.driver import DriverStatement
from sqlalchemy.dialects.postgresql import UUID

from oncall import tables as t
from oncall.escalation import ServiceLevels, SiteTimeouts


@dataclass(frozen=True)
class SiteRules:
    time_zone: str | None
    timeouts: SiteTimeouts | None
    coordinator: str | None
    callback_within: timedelta | None
    meet_within: timedelta | None
    # whether the referral asked about already has an episode (a redelivery, a withdrawal first)
    episode_exists: bool = False

    def levels(self, default: ServiceLevels) -> ServiceLevels:
        """The site's service levels where the authority set them, else the service's."""
        if self.callback_within is None or self.meet_within is None:
            return default
        return replace(default, callback_within=self.callback_within, meet_within=self.meet_within)


def _timeouts(row: Any) -> SiteTimeouts | None:
    """A site's timeouts as stored (seconds), or None where the authority set none."""
    if row is None or (row.default_seconds is None and row.crisis_seconds is None and not row.by_urgency):
        return None

    def seconds(value: float | None) -> timedelta | None:
        return timedelta(seconds=value) if value else None

    return SiteTimeouts(
        default=seconds(row.default_seconds),
        crisis=seconds(row.crisis_seconds),
        by_urgency={Urgency(u): timedelta(seconds=s) for u, s in (row.by_urgency or {}).items()},
    )


def _statement() -> sa.Select[Any]:
    """Built once: a statement built anew has its cache key derived anew on every page."""
    site_id = sa.bindparam("site_id", type_=sa.Text)
    here = sa.select(site_id.label("site_id")).subquery()
    levels, timeouts = t.site_service_levels, t.site_ack_timeouts
    return sa.select(
        t.schedule.c.time_zone,
        timeouts.c.default_seconds,
        timeouts.c.crisis_seconds,
        timeouts.c.by_urgency,
        levels.c.callback_within_seconds,
        levels.c.meet_within_seconds,
        sa.select(t.duty.c.staff_ref)
        .where(t.duty.c.site_id == here.c.site_id, t.duty.c.layer == "coordinator")
        .scalar_subquery()
        .label("coordinator"),
        sa.exists()
        .where(t.episode.c.referral_id == sa.bindparam("referral_id", type_=UUID(as_uuid=True)))
        .label("episode_exists"),
    ).select_from(
        here.outerjoin(t.schedule, t.schedule.c.site_id == here.c.site_id)
        .outerjoin(timeouts, timeouts.c.site_id == here.c.site_id)
        .outerjoin(levels, levels.c.site_id == here.c.site_id)
    )


_READ = DriverStatement(_statement())  # on the driver: every page's path


async def site_rules(uow: UnitOfWork, site_id: str, referral_id: uuid.UUID | None = None) -> SiteRules:
    row = SimpleNamespace(**await _READ.fetchrow(uow, {"site_id": site_id, "referral_id": referral_id}))

    def seconds(value: float | None) -> timedelta | None:
        return None if value is None else timedelta(seconds=value)

    return SiteRules(
        time_zone=row.time_zone,
        timeouts=_timeouts(row),
        coordinator=row.coordinator,
        callback_within=seconds(row.callback_within_seconds),
        meet_within=seconds(row.meet_within_seconds),
        episode_exists=bool(row.episode_exists),
    )
