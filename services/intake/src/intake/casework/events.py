"""What intake learns from the other services: a proposal, an override, an acknowledgement."""

from __future__ import annotations

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import (
    MatchOverridden,
    MatchProposed,
    PageAcknowledged,
)
from contracts.types import (
    RecipientRole,
)
from servicekit.database import UnitOfWork
from servicekit.driver import DriverStatement

from intake import tables
from intake.common import now
from intake.domain import (
    CaseStatus,
)

# --- what intake learns from the other services -----------------------------------------


async def on_match_proposed(
    event: MatchProposed | MatchOverridden, uow: UnitOfWork, _envelope: Envelope
) -> None:
    await _MATCHED.execute(uow, {"referral": event.referral_id, "at": now()})


# on the driver, built once: every referral's path
_MATCHED = DriverStatement(
    sa.update(tables.referral)
    .where(tables.referral.c.referral_id == sa.bindparam("referral"))
    .where(tables.referral.c.status == CaseStatus.SUBMITTED.value)
    .values(status=CaseStatus.MATCHED.value, updated_at=sa.bindparam("at"))
)


async def on_match_overridden(event: MatchOverridden, uow: UnitOfWork, envelope: Envelope) -> None:
    """A coordinator reassigned the case: whoever held it before no longer may read the
    worker's contact; the chosen supporter is added when they acknowledge their page."""
    await on_match_proposed(event, uow, envelope)
    supporters = tables.referral.c.supporters
    # the chosen supporter's acknowledgement travels on another topic and may come first
    await uow.session.execute(
        sa.update(tables.referral)
        .where(tables.referral.c.referral_id == event.referral_id)
        .values(
            supporters=sa.case(
                (supporters.any(event.supporter), sa.literal([event.supporter], supporters.type)),
                else_=sa.literal([], supporters.type),
            ),
            updated_at=now(),
        )
    )


async def on_page_acknowledged(event: PageAcknowledged, uow: UnitOfWork, _envelope: Envelope) -> None:
    # whoever took the page is assigned: only they (and the coordinators) may read the
    # worker's contact. A group case gathers several supporters.
    if event.recipient_role is RecipientRole.AUTHORITY_FALLBACK:
        return
    await uow.session.execute(
        sa.update(tables.referral)
        .where(tables.referral.c.referral_id == event.referral_id)
        .where(sa.not_(tables.referral.c.supporters.any(event.recipient)))
        .values(
            supporters=sa.func.array_append(tables.referral.c.supporters, event.recipient), updated_at=now()
        )
    )
