"""What training's routes share: the roles, strict forms, who may read a supporter's record,
and one refusal for another site's person and for nobody."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import HTTPException, Request
from pydantic import BaseModel, ConfigDict, StringConstraints
from servicekit.auth import Principal, Role
from servicekit.database import UnitOfWork

from training import common
from training.candidates import handlers as candidates

Activity = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]

# a record dated more than a day ahead is a typo (a day of slack for time zones)
_SLACK = timedelta(days=1)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def not_ahead(day: date, what: str) -> date:
    if day > (datetime.now(UTC) + _SLACK).date():
        raise ValueError(f"{what} cannot be in the future")
    return day


def policy_of(request: Request) -> common.TrainingPolicy:
    return request.app.state.policy  # type: ignore[no-any-return]


async def may_read_supporter(uow: UnitOfWork, principal: Principal, staff_ref: str) -> str:
    """A supporter's own record, their site's coordinators, the authority; 404 for anyone
    else, so a stranger cannot even learn that the person is a supporter."""
    home = await candidates.home_site_of(uow, staff_ref)
    if home is None or (
        principal.staff_ref != staff_ref and not principal.has(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN)
    ):
        raise HTTPException(404, NOT_YOURS)
    if principal.staff_ref != staff_ref:
        in_sites(principal, home)
    return home


# one refusal for a person nobody has and for another site's: it tells nothing of them
NOT_YOURS = "no such supporter or candidate among the sites you act for"


def in_sites(principal: Principal, site_id: str) -> None:
    if not principal.acts_for(site_id):
        raise HTTPException(404, NOT_YOURS)


async def acts_for_home_of(uow: UnitOfWork, principal: Principal, staff_ref: str) -> str:
    home = await candidates.home_site_of(uow, staff_ref)
    if home is None:
        raise HTTPException(404, NOT_YOURS)
    in_sites(principal, home)
    return home
