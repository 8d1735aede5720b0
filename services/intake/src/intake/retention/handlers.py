"""Housekeeping: offers that lapse, identifiers that go after the retention, messages that leave."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from contracts.types import (
    OfferEnd,
)
from servicekit.database import UnitOfWork, UnitOfWorkFactory
from servicekit.mail import Mail, Mailer
from servicekit.vault import PersonalDataVault

from intake import tables
from intake.common import now
from intake.domain import (
    CaseStatus,
    MessageStatus,
)
from intake.worker_view.handlers import end_offer

# --- housekeeping: offers that lapse, identifiers that go, messages that leave ---------------


async def expire_offers(uow: UnitOfWork, *, at: datetime | None = None, limit: int = 100) -> int:
    at = at or now()
    rows = (
        await uow.session.execute(
            sa.select(tables.referral)
            .where(
                tables.referral.c.status == CaseStatus.OFFERED.value, tables.referral.c.offer_expires_at <= at
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for row in rows:
        await end_offer(uow, row, OfferEnd.EXPIRED, at)
    return len(rows)


async def purge_identifiers(uow: UnitOfWork, retention: timedelta, *, at: datetime | None = None) -> int:
    """Erase what could identify the worker of every case that ended longer ago than the
    retention period. The de-identified record (categories, times, outcome) stays."""
    cutoff = (at or now()) - retention
    ids = (
        await uow.session.scalars(
            sa.select(tables.referral.c.referral_id)
            .where(tables.referral.c.ended_at <= cutoff, tables.referral.c.purged_at.is_(None))
            .limit(500)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not ids:
        return 0
    await uow.session.execute(sa.delete(tables.contact).where(tables.contact.c.referral_id.in_(ids)))
    await uow.session.execute(
        sa.delete(tables.worker_message).where(tables.worker_message.c.referral_id.in_(ids))
    )
    await uow.session.execute(
        sa.update(tables.referral)
        .where(tables.referral.c.referral_id.in_(ids))
        .values(
            worker_ref=None,
            excluded_supporters=[],
            supporters=[],
            unit=None,
            activated_by=None,
            idempotency_key=None,
            worker_token_digest=None,
            preferences={},
            purged_at=now(),
        )
    )
    return len(ids)


async def deliver_one_message(uow: UnitOfWork, mailer: Mailer, vault: PersonalDataVault) -> int:
    """Send the oldest pending message to a worker. One per transaction, so the row stays
    locked while it is sent and a second replica never sends it too."""
    row = (
        await uow.session.execute(
            sa.select(tables.worker_message)
            .where(tables.worker_message.c.status == MessageStatus.PENDING)
            .order_by(tables.worker_message.c.message_id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).first()
    if row is None:
        return 0
    to, body = vault.open(row.to_sealed) or "", vault.open(row.body_sealed) or ""
    await mailer.send(Mail(to=to, subject=row.subject, body=body))
    # sent: neither the address nor the text is kept
    await uow.session.execute(
        sa.update(tables.worker_message)
        .where(tables.worker_message.c.message_id == row.message_id)
        .values(
            status=MessageStatus.SENT,
            to_sealed=None,
            body_sealed=None,
            attempts=row.attempts + 1,
            sent_at=now(),
        )
    )
    return 1


async def housekeeping_once(units: UnitOfWorkFactory, retention: timedelta) -> int:
    async with units() as uow:
        done = await expire_offers(uow)
    async with units() as uow:
        return done + await purge_identifiers(uow, retention)


async def deliver_messages_once(units: UnitOfWorkFactory, mailer: Mailer, vault: PersonalDataVault) -> int:
    async with units() as uow:
        return await deliver_one_message(uow, mailer, vault)
