"""Idempotent consumption: a consumer records each event id it processed in the same
transaction as the effect, so a redelivered event is recognised and changes nothing."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.tables import INBOX


async def claim(session: AsyncSession, *, consumer: str, event_id: uuid.UUID, event_type: str) -> bool:
    """True the first time this consumer sees the event; False for a redelivery."""
    result = await session.execute(
        insert(INBOX)
        .values(consumer=consumer, event_id=event_id, event_type=event_type)
        .on_conflict_do_nothing()
        .returning(INBOX.c.event_id)
    )
    return result.first() is not None
