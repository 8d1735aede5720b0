"""What matching learns from the others: eligibility (training), duty and availability
(oncall), deployments (acknowledged pages)."""

from __future__ import annotations

import sqlalchemy as sa
from contracts import Envelope
from contracts.events import (
    DutyChanged,
    PageAcknowledged,
    SupporterAvailabilityChanged,
    SupporterEligibilityChanged,
)
from contracts.types import RecipientRole
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert

from matching import tables as t


async def on_eligibility_changed(event: SupporterEligibilityChanged, uow: UnitOfWork, _e: Envelope) -> None:
    stmt = insert(t.eligibility).values(
        staff_ref=event.supporter, eligible=event.eligible, version=event.version
    )
    await uow.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["staff_ref"],
            set_={"eligible": stmt.excluded.eligible, "version": stmt.excluded.version},
            where=t.eligibility.c.version < stmt.excluded.version,  # an older fact never wins
        )
    )


async def on_duty_changed(event: DutyChanged, uow: UnitOfWork, _e: Envelope) -> None:
    stmt = insert(t.duty).values(
        site_id=event.site_id, layer=event.layer.value, staff_ref=event.supporter, starts_at=event.starts_at
    )
    await uow.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["site_id", "layer"],
            set_={"staff_ref": stmt.excluded.staff_ref, "starts_at": stmt.excluded.starts_at},
            where=t.duty.c.starts_at <= stmt.excluded.starts_at,
        )
    )


async def on_availability_changed(event: SupporterAvailabilityChanged, uow: UnitOfWork, _e: Envelope) -> None:
    """A supporter stepped away or came back, themself (oncall's self-service): they are
    paused, or not, from now on. An older event never undoes a newer one."""
    await uow.session.execute(
        sa.update(t.supporter)
        .where(t.supporter.c.staff_ref == event.supporter, t.supporter.c.availability_version < event.version)
        .values(self_paused=not event.available, availability_version=event.version)
    )


async def on_page_acknowledged(event: PageAcknowledged, uow: UnitOfWork, envelope: Envelope) -> None:
    """A supporter who takes a page is deployed: it counts towards their cap."""
    if event.recipient_role is not RecipientRole.SUPPORTER:
        return
    await uow.session.execute(
        insert(t.deployment)
        .values(referral_id=event.referral_id, staff_ref=event.recipient, deployed_at=envelope.occurred_at)
        .on_conflict_do_nothing()
    )
