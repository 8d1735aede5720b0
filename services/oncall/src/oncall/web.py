"""What oncall's routes share: who may answer a page, who keeps a schedule, who sets their own
availability, and the unit of work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from servicekit.auth import Principal, Role, requires
from servicekit.database import UnitOfWorkFactory

Answerer = Annotated[
    Principal, Depends(requires(Role.PEER_SUPPORTER, Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))
]


def unit_of_work(request: Request) -> UnitOfWorkFactory:
    return request.app.state.uow  # type: ignore[no-any-return]


Coordinator = Annotated[Principal, Depends(requires(Role.SITE_COORDINATOR, Role.AUTHORITY_ADMIN))]
Supporter = Annotated[Principal, Depends(requires(Role.PEER_SUPPORTER, Role.SITE_COORDINATOR))]
