"""What oncall's routes share: who may answer a page, who keeps a schedule, who sets their own
availability, and the unit of work."""

from __future__ import annotations

from fastapi import Request
from servicekit.database import UnitOfWorkFactory


def unit_of_work(request: Request) -> UnitOfWorkFactory:
    return request.app.state.uow  # type: ignore[no-any-return]
